//! Deduplication: each webhook's settings, and the claims table shared by every gateway.

use crate::migration::{add_webhook_columns, drop_webhook_columns};
use sea_orm_migration::{prelude::*, schema::*};

/// The new columns of `webhooks`, named as they are in the table.
#[derive(DeriveIden)]
#[allow(clippy::enum_variant_names)]
enum Webhooks {
    DeduplicationKey,
    DeduplicationEnabled,
    DeduplicationWindowMs,
}

#[derive(DeriveIden)]
enum DeliveryClaims {
    Table,
    WebhookId,
    KeyHash,
    Owner,
    Delivered,
    ExpireTimeMs,
}

pub(crate) struct Deduplication;

impl MigrationName for Deduplication {
    fn name(&self) -> &str {
        "m20261129_000004_deduplication"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Deduplication {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let columns = [
            string_len_null(Webhooks::DeduplicationKey, 1024),
            boolean(Webhooks::DeduplicationEnabled)
                .default(false)
                .to_owned(),
            big_integer(Webhooks::DeduplicationWindowMs)
                .default(0)
                .to_owned(),
        ];
        add_webhook_columns(manager, columns).await?;
        manager
            .create_table(
                Table::create()
                    .table(DeliveryClaims::Table)
                    .if_not_exists()
                    .col(string_len(DeliveryClaims::WebhookId, 64))
                    .col(string_len(DeliveryClaims::KeyHash, 64))
                    .col(string_len(DeliveryClaims::Owner, 64))
                    .col(boolean(DeliveryClaims::Delivered))
                    .col(big_integer(DeliveryClaims::ExpireTimeMs))
                    .primary_key(
                        Index::create()
                            .col(DeliveryClaims::WebhookId)
                            .col(DeliveryClaims::KeyHash),
                    )
                    .to_owned(),
            )
            .await?;
        // The purge finds ended claims without reading the others.
        manager
            .create_index(
                Index::create()
                    .name("delivery_claims_expire_time_ms_idx")
                    .table(DeliveryClaims::Table)
                    .col(DeliveryClaims::ExpireTimeMs)
                    .if_not_exists()
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(DeliveryClaims::Table).to_owned())
            .await?;
        drop_webhook_columns(
            manager,
            [
                Webhooks::DeduplicationKey,
                Webhooks::DeduplicationEnabled,
                Webhooks::DeduplicationWindowMs,
            ],
        )
        .await
    }
}
