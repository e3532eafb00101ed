//! The gRPC management API over a real socket, on SQLite and PostgreSQL.

use hookgate_proto::v1::{self as pb, webhook_service_client::WebhookServiceClient};
use hookgate_tests::{for_each_backend, grpc::PUBLIC_URL, ApiServer};
use std::collections::HashSet;
use tonic::{transport::Channel, Code, Request, Status};
use tonic_types::StatusExt;

type Client = WebhookServiceClient<Channel>;

fn webhook(display_name: &str) -> pb::Webhook {
    pb::Webhook {
        display_name: display_name.into(),
        ..Default::default()
    }
}

/// A webhook with both secrets set: a GitHub signing secret and a basic-auth password.
fn with_secrets(display_name: &str) -> pb::Webhook {
    pb::Webhook {
        verification_type: pb::VerificationType::Github as i32,
        signing_secret: "s3cret".into(),
        basic_auth_username: "user".into(),
        basic_auth_password: "pw".into(),
        ..webhook(display_name)
    }
}

async fn create(
    client: &mut Client,
    app: &str,
    webhook: pb::Webhook,
) -> Result<pb::Webhook, Status> {
    client
        .create_webhook(pb::CreateWebhookRequest {
            parent: format!("applications/{app}"),
            webhook: Some(webhook),
        })
        .await
        .map(|r| r.into_inner())
}

/// The fields named by the status's `google.rpc.BadRequest`.
fn violated_fields(status: &Status) -> Vec<String> {
    assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
    status
        .get_details_bad_request()
        .expect("BadRequest details")
        .field_violations
        .into_iter()
        .map(|v| v.field)
        .collect()
}

#[tokio::test]
async fn create_get_list_update_rotate_delete() {
    for_each_backend(|db| async move {
        let server = ApiServer::start(&db).await;
        let mut client = server.client().await;
        let created = create(
            &mut client,
            "acme",
            pb::Webhook {
                description: "orders from the shop".into(),
                response_code: 202,
                ..with_secrets("orders")
            },
        )
        .await
        .unwrap();
        let prefix = "applications/acme/webhooks/";
        assert!(created.name.starts_with(prefix), "{}", created.name);
        let url_prefix = format!("{PUBLIC_URL}/webhooks/");
        let token = created
            .url
            .strip_prefix(&url_prefix)
            .expect("url under public url");
        assert!(token.len() >= 22, "token {token} too short for 128 bits");
        assert!(
            !created.name.contains(token),
            "the webhook id must not be the token"
        );
        assert_eq!(created.signing_secret, "", "secrets are never returned");
        assert_eq!(created.basic_auth_password, "");
        assert!(created.has_signing_secret && created.has_basic_auth_password);
        assert_eq!(created.response_code, 202);
        assert_eq!(created.reply_timeout.unwrap().seconds, 60);
        assert!(created.create_time.is_some() && created.update_time.is_some());
        assert!(!created.etag.is_empty());

        let got = client
            .get_webhook(pb::GetWebhookRequest {
                name: created.name.clone(),
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(got, created);

        let listed = client
            .list_webhooks(pb::ListWebhooksRequest {
                parent: "applications/acme".into(),
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(listed.webhooks, vec![created.clone()]);
        assert_eq!(listed.next_page_token, "");

        let updated = client
            .update_webhook(pb::UpdateWebhookRequest {
                webhook: Some(pb::Webhook {
                    name: created.name.clone(),
                    ..webhook("renamed")
                }),
                update_mask: None,
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(updated.display_name, "renamed");
        assert_eq!(updated.description, "orders from the shop");
        assert_ne!(updated.etag, created.etag);
        assert!(
            updated.has_signing_secret,
            "an update without the secret keeps it"
        );

        let rotated = client
            .rotate_webhook_url(pb::RotateWebhookUrlRequest {
                name: created.name.clone(),
            })
            .await
            .unwrap()
            .into_inner();
        assert_ne!(rotated.url, created.url);
        assert!(
            server.store.find_by_token(token).await.unwrap().is_none(),
            "old token must stop resolving"
        );

        client
            .delete_webhook(pb::DeleteWebhookRequest {
                name: created.name.clone(),
                etag: String::new(),
            })
            .await
            .unwrap();
        let gone = client
            .get_webhook(pb::GetWebhookRequest {
                name: created.name.clone(),
            })
            .await
            .unwrap_err();
        assert_eq!(
            gone.code(),
            Code::NotFound,
            "{} ({})",
            gone.message(),
            db.backend
        );
        server.stop().await;
    })
    .await;
}

#[tokio::test]
async fn invalid_arguments_name_each_field() {
    for_each_backend(|db| async move {
        let server = ApiServer::start(&db).await;
        let mut client = server.client().await;
        let cases: Vec<(pb::Webhook, Vec<&str>)> = vec![
            (webhook(""), vec!["webhook.display_name"]),
            (webhook(&"x".repeat(256)), vec!["webhook.display_name"]),
            (
                pb::Webhook {
                    response_code: 42,
                    ..webhook("a")
                },
                vec!["webhook.response_code"],
            ),
            (
                pb::Webhook {
                    verification_type: pb::VerificationType::Facebook as i32,
                    ..webhook("a")
                },
                vec!["webhook.verification_code"],
            ),
            (
                pb::Webhook {
                    verification_type: pb::VerificationType::Stripe as i32,
                    ..webhook("a")
                },
                vec!["webhook.signing_secret"],
            ),
            (
                pb::Webhook {
                    reply_timeout: Some(prost_types::Duration {
                        seconds: 121,
                        nanos: 0,
                    }),
                    ..webhook("a")
                },
                vec!["webhook.reply_timeout"],
            ),
            (
                pb::Webhook {
                    verification_type: 77,
                    ..webhook("a")
                },
                vec!["webhook.verification_type"],
            ),
            (
                pb::Webhook {
                    response_code: 42,
                    description: "d".repeat(32768),
                    ..webhook("")
                },
                vec![
                    "webhook.display_name",
                    "webhook.description",
                    "webhook.response_code",
                ],
            ),
        ];
        for (input, fields) in cases {
            let status = create(&mut client, "acme", input).await.unwrap_err();
            assert_eq!(violated_fields(&status), fields, "{}", status.message());
        }
        let status = client
            .create_webhook(pb::CreateWebhookRequest {
                parent: "apps/acme".into(),
                webhook: Some(webhook("a")),
            })
            .await
            .unwrap_err();
        assert_eq!(violated_fields(&status), vec!["parent"]);
        let status = client
            .create_webhook(pb::CreateWebhookRequest {
                parent: "applications/acme".into(),
                webhook: None,
            })
            .await
            .unwrap_err();
        assert_eq!(violated_fields(&status), vec!["webhook"]);
        let status = client
            .get_webhook(pb::GetWebhookRequest {
                name: "applications/acme/hooks/x".into(),
            })
            .await
            .unwrap_err();
        assert_eq!(violated_fields(&status), vec!["name"]);
        let status = client
            .list_webhooks(pb::ListWebhooksRequest {
                parent: "applications/acme".into(),
                page_size: -1,
                ..Default::default()
            })
            .await
            .unwrap_err();
        assert_eq!(violated_fields(&status), vec!["page_size"]);
        let status = client
            .list_webhooks(pb::ListWebhooksRequest {
                parent: "applications/acme".into(),
                page_token: "MTAw".into(),
                ..Default::default()
            })
            .await
            .unwrap_err();
        assert_eq!(violated_fields(&status), vec!["page_token"]);
        let listed = client
            .list_webhooks(pb::ListWebhooksRequest {
                parent: "applications/acme".into(),
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        assert!(
            listed.webhooks.is_empty(),
            "rejected creates must store nothing"
        );
    })
    .await;
}

#[tokio::test]
async fn paging_returns_each_webhook_exactly_once() {
    for_each_backend(|db| async move {
        let server = ApiServer::start(&db).await;
        let mut client = server.client().await;
        let mut created = HashSet::new();
        for i in 0..250 {
            created.insert(
                create(&mut client, "big", webhook(&format!("hook {i}")))
                    .await
                    .unwrap()
                    .name,
            );
        }
        create(&mut client, "other", webhook("not mine"))
            .await
            .unwrap();
        let mut seen = Vec::new();
        let mut pages = 0;
        let mut page_token = String::new();
        loop {
            let page = client
                .list_webhooks(pb::ListWebhooksRequest {
                    parent: "applications/big".into(),
                    page_size: 100,
                    page_token: page_token.clone(),
                })
                .await
                .unwrap()
                .into_inner();
            pages += 1;
            seen.extend(page.webhooks.into_iter().map(|w| w.name));
            if page.next_page_token.is_empty() {
                break;
            }
            assert!(
                page.next_page_token.parse::<u64>().is_err(),
                "page tokens must be opaque"
            );
            page_token = page.next_page_token;
        }
        assert_eq!(pages, 3);
        assert_eq!(seen.len(), 250);
        assert_eq!(seen.iter().cloned().collect::<HashSet<_>>(), created);
        let mut sorted = seen.clone();
        sorted.sort();
        assert_eq!(seen, sorted, "stable, oldest-first order");

        let status = client
            .list_webhooks(pb::ListWebhooksRequest {
                parent: "applications/other".into(),
                page_size: 100,
                page_token,
            })
            .await
            .unwrap_err();
        assert_eq!(
            violated_fields(&status),
            vec!["page_token"],
            "a token is bound to its parent"
        );

        let default_page = client
            .list_webhooks(pb::ListWebhooksRequest {
                parent: "applications/big".into(),
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(default_page.webhooks.len(), 50);
        let capped = client
            .list_webhooks(pb::ListWebhooksRequest {
                parent: "applications/big".into(),
                page_size: 5000,
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(capped.webhooks.len(), 250);
        assert_eq!(capped.next_page_token, "");
    })
    .await;
}

#[tokio::test]
async fn update_masks() {
    for_each_backend(|db| async move {
        let server = ApiServer::start(&db).await;
        let mut client = server.client().await;
        let original = create(
            &mut client,
            "acme",
            pb::Webhook {
                description: "desc".into(),
                response_code: 201,
                ..webhook("orig")
            },
        )
        .await
        .unwrap();
        let update = |mask: Vec<&str>, patch: pb::Webhook| pb::UpdateWebhookRequest {
            webhook: Some(pb::Webhook {
                name: original.name.clone(),
                ..patch
            }),
            update_mask: Some(prost_types::FieldMask {
                paths: mask.into_iter().map(str::to_owned).collect(),
            }),
        };
        // Listed paths: only `description` changes, although display_name is set in the patch.
        let changed = client
            .update_webhook(update(
                vec!["description"],
                pb::Webhook {
                    description: String::new(),
                    ..webhook("ignored")
                },
            ))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(changed.description, "");
        assert_eq!(changed.display_name, "orig");
        assert_eq!(changed.response_code, 201);
        // `*` replaces everything: response_code falls back to 0.
        let replaced = client
            .update_webhook(update(vec!["*"], webhook("star")))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(replaced.display_name, "star");
        assert_eq!(replaced.response_code, 0);
        // Unknown and output-only paths are rejected.
        for path in ["nonsense", "url", "create_time"] {
            let status = client
                .update_webhook(update(vec![path], webhook("x")))
                .await
                .unwrap_err();
            assert_eq!(violated_fields(&status), vec!["update_mask"], "{path}");
        }
        // The merged result is validated.
        let status = client
            .update_webhook(update(vec!["display_name"], webhook("")))
            .await
            .unwrap_err();
        assert_eq!(violated_fields(&status), vec!["webhook.display_name"]);
        let status = client
            .update_webhook(update(
                vec!["verification_type"],
                pb::Webhook {
                    verification_type: pb::VerificationType::Slack as i32,
                    ..Default::default()
                },
            ))
            .await
            .unwrap_err();
        assert_eq!(violated_fields(&status), vec!["webhook.signing_secret"]);
        let status = client
            .update_webhook(pb::UpdateWebhookRequest {
                webhook: None,
                update_mask: None,
            })
            .await
            .unwrap_err();
        assert_eq!(violated_fields(&status), vec!["webhook"]);
        let status = client
            .update_webhook(pb::UpdateWebhookRequest {
                webhook: Some(webhook("x")),
                update_mask: None,
            })
            .await
            .unwrap_err();
        assert_eq!(violated_fields(&status), vec!["webhook.name"]);
    })
    .await;
}

#[tokio::test]
async fn star_updates_keep_secrets_they_do_not_carry() {
    for_each_backend(|db| async move {
        let server = ApiServer::start(&db).await;
        let mut client = server.client().await;
        let created = create(&mut client, "acme", with_secrets("secretive"))
            .await
            .unwrap();
        // Read, modify, write back with `*`: the secrets come back empty from reads.
        let edited = pb::Webhook {
            display_name: "renamed".into(),
            ..created.clone()
        };
        let star = |webhook: pb::Webhook| pb::UpdateWebhookRequest {
            webhook: Some(webhook),
            update_mask: Some(prost_types::FieldMask {
                paths: vec!["*".into()],
            }),
        };
        let updated = client
            .update_webhook(star(edited))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(updated.display_name, "renamed");
        assert!(updated.has_signing_secret && updated.has_basic_auth_password);
        // Naming a path clears it.
        let cleared = client
            .update_webhook(pb::UpdateWebhookRequest {
                webhook: Some(pb::Webhook {
                    name: created.name.clone(),
                    ..Default::default()
                }),
                update_mask: Some(prost_types::FieldMask {
                    paths: vec!["basic_auth_password".into()],
                }),
            })
            .await
            .unwrap()
            .into_inner();
        assert!(!cleared.has_basic_auth_password);
        assert!(cleared.has_signing_secret);
    })
    .await;
}

#[tokio::test]
async fn stale_etags_abort_updates_and_deletes() {
    for_each_backend(|db| async move {
        let server = ApiServer::start(&db).await;
        let mut client = server.client().await;
        let original = create(&mut client, "acme", webhook("v1")).await.unwrap();
        let v2 = client
            .update_webhook(pb::UpdateWebhookRequest {
                webhook: Some(pb::Webhook {
                    name: original.name.clone(),
                    etag: original.etag.clone(),
                    ..webhook("v2")
                }),
                update_mask: None,
            })
            .await
            .unwrap()
            .into_inner();
        let stale = client
            .update_webhook(pb::UpdateWebhookRequest {
                webhook: Some(pb::Webhook {
                    name: original.name.clone(),
                    etag: original.etag.clone(),
                    ..webhook("v3")
                }),
                update_mask: None,
            })
            .await
            .unwrap_err();
        assert_eq!(stale.code(), Code::Aborted);
        let status = client
            .delete_webhook(pb::DeleteWebhookRequest {
                name: original.name.clone(),
                etag: original.etag.clone(),
            })
            .await
            .unwrap_err();
        assert_eq!(status.code(), Code::Aborted);
        let still = client
            .get_webhook(pb::GetWebhookRequest {
                name: original.name.clone(),
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(still.display_name, "v2");
        client
            .delete_webhook(pb::DeleteWebhookRequest {
                name: original.name.clone(),
                etag: v2.etag,
            })
            .await
            .unwrap();
    })
    .await;
}

#[tokio::test]
async fn applications_are_isolated() {
    for_each_backend(|db| async move {
        let server = ApiServer::start(&db).await;
        let mut client = server.client().await;
        let mine = create(&mut client, "a", webhook("a's")).await.unwrap();
        let id = mine.name.rsplit('/').next().unwrap();
        let foreign = format!("applications/b/webhooks/{id}");
        let get = client
            .get_webhook(pb::GetWebhookRequest {
                name: foreign.clone(),
            })
            .await
            .unwrap_err();
        assert_eq!(get.code(), Code::NotFound);
        let update = client
            .update_webhook(pb::UpdateWebhookRequest {
                webhook: Some(pb::Webhook {
                    name: foreign.clone(),
                    ..webhook("hijack")
                }),
                update_mask: None,
            })
            .await
            .unwrap_err();
        assert_eq!(update.code(), Code::NotFound);
        let delete = client
            .delete_webhook(pb::DeleteWebhookRequest {
                name: foreign.clone(),
                etag: String::new(),
            })
            .await
            .unwrap_err();
        assert_eq!(delete.code(), Code::NotFound);
        let rotate = client
            .rotate_webhook_url(pb::RotateWebhookUrlRequest { name: foreign })
            .await
            .unwrap_err();
        assert_eq!(rotate.code(), Code::NotFound);
        let listed = client
            .list_webhooks(pb::ListWebhooksRequest {
                parent: "applications/b".into(),
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        assert!(listed.webhooks.is_empty());
        let untouched = client
            .get_webhook(pb::GetWebhookRequest {
                name: mine.name.clone(),
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(untouched, mine);
    })
    .await;
}

#[tokio::test]
async fn bearer_tokens_are_scoped_to_applications() {
    let db = hookgate_tests::TestDb::sqlite();
    let server =
        ApiServer::start_with_tokens(&db, "acme-token-0123456789=acme;admin-token-0123456789=*")
            .await;
    let mut client = server.client().await;
    let with_token = |token: &str, app: &str| {
        let mut request = Request::new(pb::CreateWebhookRequest {
            parent: format!("applications/{app}"),
            webhook: Some(webhook("x")),
        });
        if !token.is_empty() {
            request
                .metadata_mut()
                .insert("authorization", format!("Bearer {token}").parse().unwrap());
        }
        request
    };
    let cases = [
        ("", "acme", Some(Code::Unauthenticated)),
        // Authentication comes before validation: a bad parent tells a stranger nothing.
        ("", "Not A Valid Id!", Some(Code::Unauthenticated)),
        (
            "acme-token-0123456789",
            "Not A Valid Id!",
            Some(Code::InvalidArgument),
        ),
        (
            "wrong-token-0123456789",
            "acme",
            Some(Code::Unauthenticated),
        ),
        (
            "acme-token-0123456789",
            "globex",
            Some(Code::PermissionDenied),
        ),
        ("acme-token-0123456789", "acme", None),
        ("admin-token-0123456789", "globex", None),
    ];
    for (token, app, expected) in cases {
        let outcome = client.create_webhook(with_token(token, app)).await;
        assert_eq!(
            outcome.err().map(|s| s.code()),
            expected,
            "token {token:?} on {app}"
        );
    }
}

#[tokio::test]
async fn health_and_reflection_answer() {
    let db = hookgate_tests::TestDb::sqlite();
    let server = ApiServer::start(&db).await;
    let channel = server.channel().await;
    let mut health = tonic_health::pb::health_client::HealthClient::new(channel.clone());
    for service in ["", "hookgate.v1.WebhookService"] {
        let answer = health
            .check(tonic_health::pb::HealthCheckRequest {
                service: service.into(),
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(
            answer.status(),
            tonic_health::pb::health_check_response::ServingStatus::Serving,
            "{service:?}"
        );
    }

    use tonic_reflection::pb::v1::{
        server_reflection_client::ServerReflectionClient,
        server_reflection_request::MessageRequest, server_reflection_response::MessageResponse,
        ServerReflectionRequest,
    };
    let mut reflection = ServerReflectionClient::new(channel.clone());
    let request = ServerReflectionRequest {
        host: String::new(),
        message_request: Some(MessageRequest::ListServices(String::new())),
    };
    let mut responses = reflection
        .server_reflection_info(tokio_stream::iter(vec![request]))
        .await
        .unwrap()
        .into_inner();
    let response = responses
        .message()
        .await
        .unwrap()
        .expect("one reflection response");
    let Some(MessageResponse::ListServicesResponse(list)) = response.message_response else {
        panic!("unexpected reflection answer {response:?}");
    };
    let services: HashSet<String> = list.service.into_iter().map(|s| s.name).collect();
    for expected in ["hookgate.v1.WebhookService", "grpc.health.v1.Health"] {
        assert!(
            services.contains(expected),
            "{expected} missing from {services:?}"
        );
    }

    use tonic_reflection::pb::v1alpha::{
        server_reflection_client::ServerReflectionClient as AlphaClient,
        server_reflection_request::MessageRequest as AlphaRequest,
        ServerReflectionRequest as AlphaReflectionRequest,
    };
    let mut alpha = AlphaClient::new(channel);
    let request = AlphaReflectionRequest {
        host: String::new(),
        message_request: Some(AlphaRequest::FileContainingSymbol(
            "hookgate.v1.WebhookService".into(),
        )),
    };
    let mut responses = alpha
        .server_reflection_info(tokio_stream::iter(vec![request]))
        .await
        .unwrap()
        .into_inner();
    let response = responses
        .message()
        .await
        .unwrap()
        .expect("one v1alpha response");
    assert!(
        matches!(
            response.message_response,
            Some(tonic_reflection::pb::v1alpha::server_reflection_response::MessageResponse::FileDescriptorResponse(_))
        ),
        "{response:?}"
    );
}
