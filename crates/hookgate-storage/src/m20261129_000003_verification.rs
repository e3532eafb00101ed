//! Columns for the verification catalogue, custom HMAC schemes and secret rotation.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveIden)]
enum Webhooks {
    Table,
    VerificationProvider,
    Hmac,
    PreviousSigningSecret,
    PreviousSecretExpireTime,
}

pub struct Verification;

impl MigrationName for Verification {
    fn name(&self) -> &str {
        "m20261129_000003_verification"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Verification {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // One column per statement: SQLite alters a table one change at a time.
        let mut provider = string_len(Webhooks::VerificationProvider, 64);
        provider.default("");
        let columns = [
            provider,
            text_null(Webhooks::Hmac),
            string_len_null(Webhooks::PreviousSigningSecret, 1024),
            timestamp_with_time_zone_null(Webhooks::PreviousSecretExpireTime),
        ];
        for mut column in columns {
            manager
                .alter_table(
                    Table::alter()
                        .table(Webhooks::Table)
                        .add_column(&mut column)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for column in [
            Webhooks::VerificationProvider,
            Webhooks::Hmac,
            Webhooks::PreviousSigningSecret,
            Webhooks::PreviousSecretExpireTime,
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Webhooks::Table)
                        .drop_column(column)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}
