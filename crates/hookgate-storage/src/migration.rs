//! Schema migrations, applied by `hookgate migrate` and at the start of `hookgate serve`.

use sea_orm_migration::{prelude::*, schema::*};

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(CreateWebhooks),
            Box::new(WebhookChanges),
            Box::new(crate::m20261129_000003_verification::Verification),
            Box::new(crate::m20261129_000004_deduplication::Deduplication),
        ]
    }
}

/// Adds `columns` to `webhooks`, one statement each: SQLite alters a table one change at
/// a time. For the migrations that follow the first.
pub(crate) async fn add_webhook_columns(
    manager: &SchemaManager<'_>,
    columns: impl IntoIterator<Item = ColumnDef>,
) -> Result<(), DbErr> {
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

/// Drops `columns` from `webhooks`, one statement each.
pub(crate) async fn drop_webhook_columns<C: IntoIden>(
    manager: &SchemaManager<'_>,
    columns: impl IntoIterator<Item = C>,
) -> Result<(), DbErr> {
    for column in columns {
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

#[derive(DeriveIden)]
enum Webhooks {
    Table,
    Id,
    ApplicationId,
    Token,
    DisplayName,
    Description,
    Disabled,
    VerificationType,
    VerificationCode,
    SigningSecret,
    ResponseCode,
    WaitForReply,
    ReplyTimeoutMs,
    BasicAuthUsername,
    BasicAuthPasswordDigest,
    Revision,
    CreateTime,
    UpdateTime,
}

struct CreateWebhooks;

impl MigrationName for CreateWebhooks {
    fn name(&self) -> &str {
        "m20261128_000001_create_webhooks"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for CreateWebhooks {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Webhooks::Table)
                    .if_not_exists()
                    .col(string_len(Webhooks::Id, 64).primary_key())
                    .col(string_len(Webhooks::ApplicationId, 64))
                    .col(string_len(Webhooks::Token, 64))
                    .col(string_len(Webhooks::DisplayName, 1024))
                    .col(text(Webhooks::Description))
                    .col(boolean(Webhooks::Disabled))
                    .col(string_len(Webhooks::VerificationType, 32))
                    .col(string_len(Webhooks::VerificationCode, 1024))
                    .col(string_len_null(Webhooks::SigningSecret, 1024))
                    .col(integer(Webhooks::ResponseCode))
                    .col(boolean(Webhooks::WaitForReply))
                    .col(big_integer(Webhooks::ReplyTimeoutMs))
                    .col(string_len(Webhooks::BasicAuthUsername, 1024))
                    .col(string_len_null(Webhooks::BasicAuthPasswordDigest, 128))
                    .col(big_integer(Webhooks::Revision))
                    .col(timestamp_with_time_zone(Webhooks::CreateTime))
                    .col(timestamp_with_time_zone(Webhooks::UpdateTime))
                    .to_owned(),
            )
            .await?;
        // The ingress looks every request up by token: one unique index, one query.
        manager
            .create_index(
                Index::create()
                    .name("webhooks_token_key")
                    .table(Webhooks::Table)
                    .col(Webhooks::Token)
                    .unique()
                    .if_not_exists()
                    .to_owned(),
            )
            .await?;
        // Listing pages through one application's webhooks in id order.
        manager
            .create_index(
                Index::create()
                    .name("webhooks_application_id_id_idx")
                    .table(Webhooks::Table)
                    .col(Webhooks::ApplicationId)
                    .col(Webhooks::Id)
                    .if_not_exists()
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Webhooks::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum WebhookChangesTable {
    #[sea_orm(iden = "webhook_changes")]
    Table,
    Seq,
    WebhookId,
    Token,
    ChangeTime,
}

/// A numbered log of writes, which gateways follow instead of querying per request.
struct WebhookChanges;

impl MigrationName for WebhookChanges {
    fn name(&self) -> &str {
        "m20261129_000002_webhook_changes"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for WebhookChanges {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(WebhookChangesTable::Table)
                    .if_not_exists()
                    // Numbered by the database, never by a replica's clock.
                    .col(
                        big_integer(WebhookChangesTable::Seq)
                            .auto_increment()
                            .primary_key(),
                    )
                    .col(string_len(WebhookChangesTable::WebhookId, 64))
                    .col(string_len(WebhookChangesTable::Token, 64))
                    .col(timestamp_with_time_zone(WebhookChangesTable::ChangeTime))
                    .to_owned(),
            )
            .await?;
        // Old rows are pruned by time.
        manager
            .create_index(
                Index::create()
                    .name("webhook_changes_change_time_idx")
                    .table(WebhookChangesTable::Table)
                    .col(WebhookChangesTable::ChangeTime)
                    .if_not_exists()
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(WebhookChangesTable::Table).to_owned())
            .await
    }
}
