//! Columns for the verification catalogue, custom HMAC schemes and secret rotation.

use crate::migration::{add_webhook_columns, drop_webhook_columns};
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveIden)]
enum Webhooks {
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
        let mut provider = string_len(Webhooks::VerificationProvider, 64);
        provider.default("");
        let columns = [
            provider,
            text_null(Webhooks::Hmac),
            string_len_null(Webhooks::PreviousSigningSecret, 1024),
            timestamp_with_time_zone_null(Webhooks::PreviousSecretExpireTime),
        ];
        add_webhook_columns(manager, columns).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        drop_webhook_columns(
            manager,
            [
                Webhooks::VerificationProvider,
                Webhooks::Hmac,
                Webhooks::PreviousSigningSecret,
                Webhooks::PreviousSecretExpireTime,
            ],
        )
        .await
    }
}
