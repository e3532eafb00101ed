//! The catalogue's entries. Adding a provider is adding an entry here (and its vector in
//! the tests below the engine); no new code path.

use crate::catalogue::{
    Algorithm::{self, *},
    Encoding::{self, *},
    Handshake, KeyFormat, Location, Part, Provider, Scheme, Separator, SignatureSpec, TimeUnit,
    TimestampSource, TimestampSpec,
};

const BODY: &[Part<'static>] = &[Part::Body];
/// The tolerance where a provider documents none.
const DEFAULT_TOLERANCE: u64 = 300;

/// A signature of the raw body in one header, keyed by the secret as pasted.
const fn sig(
    algorithm: Algorithm,
    header: &'static str,
    encoding: Encoding,
    prefix: &'static str,
) -> SignatureSpec<'static> {
    SignatureSpec {
        algorithm,
        key: KeyFormat::Raw,
        location: Location::Header(header),
        encoding,
        prefix,
        separator: Separator::None,
        signed: BODY,
        timestamp: None,
    }
}

const fn header_ts(
    name: &'static str,
    unit: TimeUnit,
    tolerance_secs: u64,
) -> Option<TimestampSpec<'static>> {
    Some(TimestampSpec {
        source: TimestampSource::Header(name),
        unit,
        tolerance_secs,
    })
}

/// `t=…,v1=…` style headers, signed `{t}{glue}{body}`.
const fn fields(
    header: &'static str,
    separator: char,
    timestamp: &'static str,
    signature: &'static str,
    signed: &'static [Part<'static>],
    unit: TimeUnit,
    tolerance_secs: u64,
) -> SignatureSpec<'static> {
    SignatureSpec {
        location: Location::Fields {
            header,
            separator,
            timestamp,
            signature,
        },
        signed,
        timestamp: Some(TimestampSpec {
            source: TimestampSource::Field,
            unit,
            tolerance_secs,
        }),
        ..sig(HmacSha256, header, Hex, "")
    }
}

/// `t={unix seconds},v1={hex}`, signed `{t}.{body}`, 300 s (Stripe's form, which Mux and
/// Persona follow).
const fn t_v1(header: &'static str) -> SignatureSpec<'static> {
    fields(
        header,
        ',',
        "t",
        "v1",
        DOT_SIGNED,
        TimeUnit::Seconds,
        DEFAULT_TOLERANCE,
    )
}

/// Standard Webhooks under a vendor's header names: `whsec_` base64 key, `{id}.{ts}.{body}`,
/// a space-separated list of `v1,` base64 signatures.
const fn standard(
    timestamp: &'static str,
    signature: &'static str,
    signed: &'static [Part<'static>],
) -> SignatureSpec<'static> {
    SignatureSpec {
        key: KeyFormat::Base64 { strip: "whsec_" },
        separator: Separator::Whitespace,
        signed,
        timestamp: header_ts(timestamp, TimeUnit::Seconds, DEFAULT_TOLERANCE),
        ..sig(HmacSha256, signature, Base64, "v1,")
    }
}

const STANDARD_SIGNED: &[Part<'static>] = &[
    Part::Header("webhook-id"),
    Part::Literal("."),
    Part::Timestamp,
    Part::Literal("."),
    Part::Body,
];
const SVIX_SIGNED: &[Part<'static>] = &[
    Part::Header("svix-id"),
    Part::Literal("."),
    Part::Timestamp,
    Part::Literal("."),
    Part::Body,
];
const STANDARD_WEBHOOKS: SignatureSpec<'static> =
    standard("webhook-timestamp", "webhook-signature", STANDARD_SIGNED);
const SVIX: SignatureSpec<'static> = standard("svix-timestamp", "svix-signature", SVIX_SIGNED);
/// `{t}.{body}`.
const DOT_SIGNED: &[Part<'static>] = &[Part::Timestamp, Part::Literal("."), Part::Body];
/// `v0:{ts}:{body}` (Slack, Zoom, Customer.io, Frame.io).
const V0_SIGNED: &[Part<'static>] = &[
    Part::Literal("v0:"),
    Part::Timestamp,
    Part::Literal(":"),
    Part::Body,
];
const TS_BODY: &[Part<'static>] = &[Part::Timestamp, Part::Body];
const META_SIGNATURE: SignatureSpec<'static> =
    sig(HmacSha256, "X-Hub-Signature-256", Hex, "sha256=");
const WHSEC: &str = "The endpoint's signing secret, whsec_ followed by base64, as shown";

const fn entry(
    id: &'static str,
    display_name: &'static str,
    docs_url: &'static str,
    secret: &'static str,
    scheme: Scheme,
) -> Provider {
    Provider {
        id,
        display_name,
        docs_url,
        secret,
        handshake: Handshake::None,
        scheme,
        dedup_key: "",
    }
}

const fn signed(
    id: &'static str,
    display_name: &'static str,
    docs_url: &'static str,
    secret: &'static str,
    spec: SignatureSpec<'static>,
) -> Provider {
    entry(id, display_name, docs_url, secret, Scheme::Signature(spec))
}

const fn dedup(provider: Provider, key: &'static str) -> Provider {
    Provider {
        dedup_key: key,
        ..provider
    }
}

const fn handshake(provider: Provider, handshake: Handshake) -> Provider {
    Provider {
        handshake,
        ..provider
    }
}

pub static PROVIDERS: &[Provider] = &[
    // The types that predate the catalogue.
    handshake(
        signed(
            "facebook",
            "Facebook (Meta)",
            "https://developers.facebook.com/docs/graph-api/webhooks/getting-started",
            "The app secret (App settings → Basic); the Verify Token goes in verification_code",
            META_SIGNATURE,
        ),
        Handshake::MetaHub,
    ),
    handshake(
        signed(
            "fitbit",
            "Fitbit",
            "https://dev.fitbit.com/build/reference/web-api/developer-guide/using-subscriptions/",
            "The application's client secret; the subscriber verification code goes in verification_code",
            SignatureSpec {
                key: KeyFormat::Suffixed("&"),
                ..sig(HmacSha1, "X-Fitbit-Signature", Base64, "")
            },
        ),
        Handshake::FitbitVerify,
    ),
    dedup(
        entry(
            "twilio",
            "Twilio",
            "https://www.twilio.com/docs/usage/webhooks/webhooks-security",
            "The account's Auth Token",
            Scheme::Twilio,
        ),
        "header:I-Twilio-Idempotency-Token",
    ),
    dedup(
        signed(
            "github",
            "GitHub",
            "https://docs.github.com/en/webhooks/using-webhooks/validating-webhook-deliveries",
            "The webhook's secret",
            META_SIGNATURE,
        ),
        "header:X-GitHub-Delivery",
    ),
    dedup(
        signed(
            "stripe",
            "Stripe",
            "https://docs.stripe.com/webhooks#verify-manually",
            "The endpoint's signing secret (whsec_…), as shown",
            t_v1("Stripe-Signature"),
        ),
        "json:/id",
    ),
    dedup(
        handshake(
            signed(
                "slack",
                "Slack",
                "https://api.slack.com/authentication/verifying-requests-from-slack",
                "The app's Signing Secret",
                SignatureSpec {
                    signed: V0_SIGNED,
                    timestamp: header_ts(
                        "X-Slack-Request-Timestamp",
                        TimeUnit::Seconds,
                        DEFAULT_TOLERANCE,
                    ),
                    ..sig(HmacSha256, "X-Slack-Signature", Hex, "v0=")
                },
            ),
            Handshake::SlackUrlVerification,
        ),
        "json:/event_id",
    ),
    dedup(
        signed(
            "shopify",
            "Shopify",
            "https://shopify.dev/docs/apps/build/webhooks/subscribe/https",
            "The app's client secret",
            sig(HmacSha256, "X-Shopify-Hmac-Sha256", Base64, ""),
        ),
        "header:X-Shopify-Webhook-Id",
    ),
    dedup(
        signed(
            "standard-webhooks",
            "Standard Webhooks",
            "https://github.com/standard-webhooks/standard-webhooks/blob/main/spec/standard-webhooks.md",
            WHSEC,
            STANDARD_WEBHOOKS,
        ),
        "header:webhook-id",
    ),
    dedup(
        entry(
            "alexa",
            "Amazon Alexa",
            "https://developer.amazon.com/en-US/docs/alexa/custom-skills/host-a-custom-skill-as-a-web-service.html",
            "Nothing: Amazon signs with its certificate",
            Scheme::Alexa,
        ),
        "json:/request/requestId",
    ),
    // The catalogue.
    dedup(
        signed(
            "gitlab",
            "GitLab",
            "https://docs.gitlab.com/user/project/integrations/webhooks/",
            "The webhook's secret token",
            sig(Token, "X-Gitlab-Token", Plain, ""),
        ),
        "header:X-Gitlab-Event-UUID",
    ),
    dedup(
        signed(
            "bitbucket",
            "Bitbucket Cloud",
            "https://support.atlassian.com/bitbucket-cloud/docs/manage-webhooks/",
            "The webhook's secret",
            sig(HmacSha256, "X-Hub-Signature", Hex, "sha256="),
        ),
        "header:X-Request-UUID",
    ),
    handshake(
        signed(
            "zoom",
            "Zoom",
            "https://developers.zoom.us/docs/api/webhooks/",
            "The app's Secret Token",
            SignatureSpec {
                signed: V0_SIGNED,
                timestamp: header_ts(
                    "x-zm-request-timestamp",
                    TimeUnit::Seconds,
                    DEFAULT_TOLERANCE,
                ),
                ..sig(HmacSha256, "x-zm-signature", Hex, "v0=")
            },
        ),
        Handshake::ZoomUrlValidation,
    ),
    dedup(
        handshake(
            signed(
                "discord",
                "Discord interactions",
                "https://discord.com/developers/docs/interactions/overview#setting-up-an-endpoint",
                "The application's public key (hex), from the developer portal",
                SignatureSpec {
                    key: KeyFormat::Hex,
                    signed: TS_BODY,
                    timestamp: header_ts(
                        "X-Signature-Timestamp",
                        TimeUnit::Seconds,
                        DEFAULT_TOLERANCE,
                    ),
                    ..sig(Ed25519, "X-Signature-Ed25519", Hex, "")
                },
            ),
            Handshake::DiscordPing,
        ),
        "json:/id",
    ),
    dedup(
        signed(
            "paddle",
            "Paddle Billing",
            "https://developer.paddle.com/webhooks/signature-verification",
            "The notification destination's secret key (pdl_ntfset_…)",
            fields(
                "Paddle-Signature",
                ';',
                "ts",
                "h1",
                &[Part::Timestamp, Part::Literal(":"), Part::Body],
                TimeUnit::Seconds,
                5,
            ),
        ),
        "json:/event_id",
    ),
    dedup(
        signed(
            "typeform",
            "Typeform",
            "https://www.typeform.com/developers/webhooks/secure-your-webhooks/",
            "The webhook's secret",
            sig(HmacSha256, "Typeform-Signature", Base64, "sha256="),
        ),
        "json:/event_id",
    ),
    dedup(
        signed(
            "square",
            "Square",
            "https://developer.squareup.com/docs/webhooks/step3validate",
            "The subscription's signature key",
            SignatureSpec {
                signed: &[Part::Url, Part::Body],
                ..sig(HmacSha256, "x-square-hmacsha256-signature", Base64, "")
            },
        ),
        "json:/event_id",
    ),
    signed(
        "hubspot",
        "HubSpot (v3 signatures)",
        "https://developers.hubspot.com/docs/guides/apps/authentication/validating-requests",
        "The app's client secret",
        SignatureSpec {
            signed: &[Part::Method, Part::Url, Part::Body, Part::Timestamp],
            timestamp: header_ts(
                "X-HubSpot-Request-Timestamp",
                TimeUnit::Millis,
                DEFAULT_TOLERANCE,
            ),
            ..sig(HmacSha256, "X-HubSpot-Signature-v3", Base64, "")
        },
    ),
    dedup(
        handshake(
            signed(
                "twitch",
                "Twitch EventSub",
                "https://dev.twitch.tv/docs/eventsub/handling-webhook-events/",
                "The secret given when the subscription was created",
                SignatureSpec {
                    signed: &[
                        Part::Header("Twitch-Eventsub-Message-Id"),
                        Part::Timestamp,
                        Part::Body,
                    ],
                    timestamp: header_ts(
                        "Twitch-Eventsub-Message-Timestamp",
                        TimeUnit::Rfc3339,
                        600,
                    ),
                    ..sig(HmacSha256, "Twitch-Eventsub-Message-Signature", Hex, "sha256=")
                },
            ),
            Handshake::TwitchChallenge,
        ),
        "header:Twitch-Eventsub-Message-Id",
    ),
    handshake(
        signed(
            "dropbox",
            "Dropbox",
            "https://www.dropbox.com/developers/reference/webhooks",
            "The app secret",
            sig(HmacSha256, "X-Dropbox-Signature", Hex, ""),
        ),
        Handshake::QueryEcho("challenge"),
    ),
    handshake(
        signed(
            "asana",
            "Asana",
            "https://developers.asana.com/docs/webhooks-guide",
            "Nothing: the X-Hook-Secret handshake sets it",
            sig(HmacSha256, "X-Hook-Signature", Hex, ""),
        ),
        Handshake::AsanaHookSecret,
    ),
    handshake(
        signed(
            "trello",
            "Trello",
            "https://developer.atlassian.com/cloud/trello/guides/rest-api/webhooks/",
            "The application's secret (the OAuth secret of the API key)",
            SignatureSpec {
                signed: &[Part::Body, Part::Url],
                ..sig(HmacSha1, "X-Trello-Webhook", Base64, "")
            },
        ),
        Handshake::Head,
    ),
    handshake(
        entry(
            "microsoft-graph",
            "Microsoft Graph change notifications",
            "https://learn.microsoft.com/en-us/graph/change-notifications-delivery-webhooks",
            "The clientState given when the subscription was created",
            Scheme::GraphClientState,
        ),
        Handshake::QueryEcho("validationToken"),
    ),
    dedup(
        handshake(
            signed(
                "okta",
                "Okta event hooks",
                "https://developer.okta.com/docs/concepts/event-hooks/",
                "The Authorization header value configured on the event hook",
                sig(Token, "Authorization", Plain, ""),
            ),
            Handshake::OktaChallenge,
        ),
        "json:/eventId",
    ),
    dedup(
        signed(
            "svix",
            "Svix (Clerk, Resend and others)",
            "https://docs.svix.com/receiving/verifying-payloads/how-manual",
            WHSEC,
            SVIX,
        ),
        "header:svix-id",
    ),
    dedup(
        signed(
            "linear",
            "Linear",
            "https://linear.app/developers/webhooks",
            "The webhook's signing secret",
            SignatureSpec {
                timestamp: Some(TimestampSpec {
                    source: TimestampSource::Json("/webhookTimestamp"),
                    unit: TimeUnit::Millis,
                    tolerance_secs: 60,
                }),
                ..sig(HmacSha256, "Linear-Signature", Hex, "")
            },
        ),
        "header:Linear-Delivery",
    ),
    signed(
        "calendly",
        "Calendly",
        "https://developer.calendly.com/api-docs/4c305798a61d3-webhook-signatures",
        "The webhook signing key",
        fields(
            "Calendly-Webhook-Signature",
            ',',
            "t",
            "v1",
            DOT_SIGNED,
            TimeUnit::Seconds,
            180,
        ),
    ),
    dedup(
        signed(
            "pagerduty",
            "PagerDuty (v3 webhooks)",
            "https://developer.pagerduty.com/docs/webhooks/webhook-signatures/",
            "The webhook subscription's secret",
            SignatureSpec {
                separator: Separator::Comma,
                ..sig(HmacSha256, "X-PagerDuty-Signature", Hex, "v1=")
            },
        ),
        "json:/event/id",
    ),
    dedup(
        signed(
            "sentry",
            "Sentry integrations",
            "https://docs.sentry.io/organization/integrations/integration-platform/webhooks/",
            "The integration's client secret",
            sig(HmacSha256, "Sentry-Hook-Signature", Hex, ""),
        ),
        "header:Request-ID",
    ),
    dedup(
        signed(
            "intercom",
            "Intercom",
            "https://developers.intercom.com/docs/references/webhooks/webhook-models",
            "The app's client secret",
            sig(HmacSha1, "X-Hub-Signature", Hex, "sha1="),
        ),
        "json:/id",
    ),
    dedup(
        signed(
            "mailgun",
            "Mailgun",
            "https://documentation.mailgun.com/docs/mailgun/user-manual/webhooks/securing-webhooks",
            "The account's HTTP webhook signing key",
            SignatureSpec {
                location: Location::Json("/signature/signature"),
                signed: &[
                    Part::Json("/signature/timestamp"),
                    Part::Json("/signature/token"),
                ],
                timestamp: Some(TimestampSpec {
                    source: TimestampSource::Json("/signature/timestamp"),
                    unit: TimeUnit::Seconds,
                    tolerance_secs: DEFAULT_TOLERANCE,
                }),
                ..sig(HmacSha256, "", Hex, "")
            },
        ),
        "json:/signature/token",
    ),
    signed(
        "sendgrid",
        "SendGrid Event Webhook",
        "https://www.twilio.com/docs/sendgrid/for-developers/tracking-events/getting-started-event-webhook-security-features",
        "The Signed Event Webhook's verification key (base64 public key)",
        SignatureSpec {
            key: KeyFormat::Base64 { strip: "" },
            signed: TS_BODY,
            timestamp: header_ts(
                "X-Twilio-Email-Event-Webhook-Timestamp",
                TimeUnit::Seconds,
                DEFAULT_TOLERANCE,
            ),
            ..sig(EcdsaP256, "X-Twilio-Email-Event-Webhook-Signature", Base64, "")
        },
    ),
    signed(
        "webflow",
        "Webflow",
        "https://developers.webflow.com/data/docs/working-with-webhooks",
        "The app's client secret, or the webhook's secret for site webhooks",
        SignatureSpec {
            signed: &[Part::Timestamp, Part::Literal(":"), Part::Body],
            timestamp: header_ts("x-webflow-timestamp", TimeUnit::Millis, DEFAULT_TOLERANCE),
            ..sig(HmacSha256, "x-webflow-signature", Hex, "")
        },
    ),
    dedup(
        signed(
            "woocommerce",
            "WooCommerce",
            "https://woocommerce.github.io/woocommerce-rest-api-docs/#webhooks",
            "The webhook's secret",
            sig(HmacSha256, "X-WC-Webhook-Signature", Base64, ""),
        ),
        "header:X-WC-Webhook-Delivery-ID",
    ),
    dedup(
        signed(
            "zendesk",
            "Zendesk",
            "https://developer.zendesk.com/documentation/webhooks/verifying/",
            "The webhook's signing secret",
            SignatureSpec {
                signed: TS_BODY,
                timestamp: header_ts(
                    "X-Zendesk-Webhook-Signature-Timestamp",
                    TimeUnit::Rfc3339,
                    DEFAULT_TOLERANCE,
                ),
                ..sig(HmacSha256, "X-Zendesk-Webhook-Signature", Base64, "")
            },
        ),
        "header:X-Zendesk-Webhook-Invocation-Id",
    ),
    dedup(
        signed(
            "mux",
            "Mux",
            "https://docs.mux.com/core/verify-webhook-signatures",
            "The webhook's signing secret",
            t_v1("Mux-Signature"),
        ),
        "json:/id",
    ),
    dedup(
        signed(
            "vercel",
            "Vercel",
            "https://vercel.com/docs/webhooks/webhooks-api",
            "The webhook's secret (the integration's client secret for integrations)",
            sig(HmacSha1, "x-vercel-signature", Hex, ""),
        ),
        "json:/id",
    ),
    dedup(
        signed(
            "jira",
            "Jira (admin webhooks)",
            "https://developer.atlassian.com/cloud/jira/platform/webhooks/",
            "The webhook's secret",
            sig(HmacSha256, "X-Hub-Signature", Hex, "sha256="),
        ),
        "header:X-Atlassian-Webhook-Identifier",
    ),
    dedup(
        signed(
            "box",
            "Box",
            "https://developer.box.com/guides/webhooks/v2/signatures-v2/",
            "The primary or the secondary signature key",
            SignatureSpec {
                location: Location::AnyHeader(&["BOX-SIGNATURE-PRIMARY", "BOX-SIGNATURE-SECONDARY"]),
                signed: &[Part::Body, Part::Timestamp],
                timestamp: header_ts("BOX-DELIVERY-TIMESTAMP", TimeUnit::Rfc3339, 600),
                ..sig(HmacSha256, "", Base64, "")
            },
        ),
        "header:BOX-DELIVERY-ID",
    ),
    signed(
        "docusign",
        "DocuSign Connect",
        "https://developers.docusign.com/platform/webhooks/connect/hmac/",
        "One of the account's Connect HMAC keys",
        SignatureSpec {
            location: Location::Numbered("X-DocuSign-Signature-"),
            ..sig(HmacSha256, "", Base64, "")
        },
    ),
    // Beyond the named ones.
    handshake(
        signed(
            "instagram",
            "Instagram (Meta)",
            "https://developers.facebook.com/docs/instagram-platform/webhooks",
            "The app secret; the Verify Token goes in verification_code",
            META_SIGNATURE,
        ),
        Handshake::MetaHub,
    ),
    handshake(
        signed(
            "whatsapp",
            "WhatsApp Cloud API (Meta)",
            "https://developers.facebook.com/docs/whatsapp/cloud-api/guides/set-up-webhooks",
            "The app secret; the Verify Token goes in verification_code",
            META_SIGNATURE,
        ),
        Handshake::MetaHub,
    ),
    dedup(
        signed("clerk", "Clerk", "https://clerk.com/docs/webhooks/sync-data", WHSEC, SVIX),
        "header:svix-id",
    ),
    dedup(
        signed(
            "resend",
            "Resend",
            "https://resend.com/docs/dashboard/webhooks/verify-webhooks-requests",
            WHSEC,
            SVIX,
        ),
        "header:svix-id",
    ),
    dedup(
        signed(
            "openai",
            "OpenAI",
            "https://platform.openai.com/docs/guides/webhooks",
            WHSEC,
            STANDARD_WEBHOOKS,
        ),
        "header:webhook-id",
    ),
    dedup(
        signed(
            "replicate",
            "Replicate",
            "https://replicate.com/docs/topics/webhooks/verify-webhook",
            WHSEC,
            STANDARD_WEBHOOKS,
        ),
        "header:webhook-id",
    ),
    signed(
        "lemonsqueezy",
        "Lemon Squeezy",
        "https://docs.lemonsqueezy.com/help/webhooks/signing-requests",
        "The webhook's signing secret",
        sig(HmacSha256, "X-Signature", Hex, ""),
    ),
    signed(
        "paystack",
        "Paystack",
        "https://paystack.com/docs/payments/webhooks/",
        "The integration's secret key",
        sig(HmacSha512, "x-paystack-signature", Hex, ""),
    ),
    dedup(
        signed(
            "razorpay",
            "Razorpay",
            "https://razorpay.com/docs/webhooks/validate-test/",
            "The webhook's secret",
            sig(HmacSha256, "X-Razorpay-Signature", Hex, ""),
        ),
        "header:x-razorpay-event-id",
    ),
    dedup(
        signed(
            "coinbase-commerce",
            "Coinbase Commerce",
            "https://docs.cdp.coinbase.com/commerce-onchain/docs/webhooks-security",
            "The webhook's shared secret",
            sig(HmacSha256, "X-CC-Webhook-Signature", Hex, ""),
        ),
        "json:/event/id",
    ),
    signed(
        "gocardless",
        "GoCardless",
        "https://developer.gocardless.com/getting-started/staying-up-to-date-with-webhooks",
        "The webhook endpoint's secret",
        sig(HmacSha256, "Webhook-Signature", Hex, ""),
    ),
    signed(
        "checkout",
        "Checkout.com",
        "https://www.checkout.com/docs/developer-resources/webhooks",
        "The webhook's signature key",
        sig(HmacSha256, "Cko-Signature", Hex, ""),
    ),
    signed(
        "xero",
        "Xero",
        "https://developer.xero.com/documentation/guides/webhooks/configuring-your-server/",
        "The webhook key",
        sig(HmacSha256, "x-xero-signature", Base64, ""),
    ),
    signed(
        "quickbooks",
        "QuickBooks Online (Intuit)",
        "https://developer.intuit.com/app/developer/qbo/docs/develop/webhooks",
        "The app's webhook verifier token",
        sig(HmacSha256, "intuit-signature", Base64, ""),
    ),
    signed(
        "segment",
        "Segment (webhooks destination)",
        "https://segment.com/docs/connections/destinations/catalog/webhooks/",
        "The destination's shared secret",
        sig(HmacSha1, "X-Signature", Hex, ""),
    ),
    signed(
        "customer-io",
        "Customer.io reporting webhooks",
        "https://docs.customer.io/journeys/webhooks/",
        "The webhook signing key",
        SignatureSpec {
            signed: V0_SIGNED,
            timestamp: header_ts("X-CIO-Timestamp", TimeUnit::Seconds, DEFAULT_TOLERANCE),
            ..sig(HmacSha256, "X-CIO-Signature", Hex, "")
        },
    ),
    signed(
        "close",
        "Close",
        "https://developer.close.com/topics/webhooks/",
        "The subscription's signature_key (hex)",
        SignatureSpec {
            key: KeyFormat::Hex,
            signed: TS_BODY,
            timestamp: header_ts("close-sig-timestamp", TimeUnit::Seconds, DEFAULT_TOLERANCE),
            ..sig(HmacSha256, "close-sig-hash", Hex, "")
        },
    ),
    signed(
        "airtable",
        "Airtable",
        "https://airtable.com/developers/web/api/webhooks-overview",
        "The webhook's macSecretBase64",
        SignatureSpec {
            key: KeyFormat::Base64 { strip: "" },
            ..sig(HmacSha256, "X-Airtable-Content-MAC", Hex, "hmac-sha256=")
        },
    ),
    dedup(
        signed(
            "gitea",
            "Gitea and Forgejo",
            "https://docs.gitea.com/usage/webhooks",
            "The webhook's secret",
            sig(HmacSha256, "X-Gitea-Signature", Hex, ""),
        ),
        "header:X-Gitea-Delivery",
    ),
    dedup(
        signed(
            "gogs",
            "Gogs",
            "https://gogs.io/docs/features/webhook",
            "The webhook's secret",
            sig(HmacSha256, "X-Gogs-Signature", Hex, ""),
        ),
        "header:X-Gogs-Delivery",
    ),
    dedup(
        signed(
            "circleci",
            "CircleCI",
            "https://circleci.com/docs/webhooks/",
            "The webhook's secret token",
            SignatureSpec {
                separator: Separator::Comma,
                ..sig(HmacSha256, "circleci-signature", Hex, "v1=")
            },
        ),
        "json:/id",
    ),
    signed(
        "launchdarkly",
        "LaunchDarkly",
        "https://docs.launchdarkly.com/home/infrastructure/webhooks",
        "The webhook's secret",
        sig(HmacSha256, "X-LD-Signature", Hex, ""),
    ),
    signed(
        "buildkite",
        "Buildkite",
        "https://buildkite.com/docs/apis/webhooks",
        "The webhook's token, set to be sent as a signature",
        fields(
            "X-Buildkite-Signature",
            ',',
            "timestamp",
            "signature",
            DOT_SIGNED,
            TimeUnit::Seconds,
            DEFAULT_TOLERANCE,
        ),
    ),
    dedup(
        signed(
            "heroku",
            "Heroku app webhooks",
            "https://devcenter.heroku.com/articles/app-webhooks",
            "The webhook's secret",
            sig(HmacSha256, "Heroku-Webhook-Hmac-SHA256", Base64, ""),
        ),
        "header:Heroku-Webhook-Id",
    ),
    signed(
        "pusher",
        "Pusher Channels",
        "https://pusher.com/docs/channels/server_api/webhooks/",
        "The app's secret",
        sig(HmacSha256, "X-Pusher-Signature", Hex, ""),
    ),
    signed(
        "sendbird",
        "Sendbird",
        "https://sendbird.com/docs/chat/platform-api/v3/webhook/overview",
        "The application's master API token",
        sig(HmacSha256, "x-sendbird-signature", Hex, ""),
    ),
    signed(
        "stream",
        "Stream Chat",
        "https://getstream.io/chat/docs/node/webhooks_overview/",
        "The app's API secret",
        sig(HmacSha256, "X-Signature", Hex, ""),
    ),
    signed(
        "whoop",
        "WHOOP",
        "https://developer.whoop.com/docs/developing/webhooks",
        "The app's client secret",
        SignatureSpec {
            signed: TS_BODY,
            timestamp: header_ts(
                "X-WHOOP-Signature-Timestamp",
                TimeUnit::Millis,
                DEFAULT_TOLERANCE,
            ),
            ..sig(HmacSha256, "X-WHOOP-Signature", Base64, "")
        },
    ),
    signed(
        "clickup",
        "ClickUp",
        "https://developer.clickup.com/docs/webhooksignature",
        "The webhook's secret",
        sig(HmacSha256, "X-Signature", Hex, ""),
    ),
    signed(
        "tally",
        "Tally",
        "https://tally.so/help/webhooks",
        "The webhook's signing secret",
        sig(HmacSha256, "Tally-Signature", Base64, ""),
    ),
    signed(
        "cal-com",
        "Cal.com",
        "https://cal.com/docs/developing/guides/automation/webhooks",
        "The webhook's secret",
        sig(HmacSha256, "X-Cal-Signature-256", Hex, ""),
    ),
    handshake(
        signed(
            "nylas",
            "Nylas (v3)",
            "https://developer.nylas.com/docs/v3/notifications/webhooks/",
            "The webhook_secret returned when the webhook was created",
            sig(HmacSha256, "X-Nylas-Signature", Hex, ""),
        ),
        Handshake::QueryEcho("challenge"),
    ),
    signed(
        "microsoft-teams",
        "Microsoft Teams outgoing webhooks",
        "https://learn.microsoft.com/en-us/microsoftteams/platform/webhooks-and-connectors/how-to/add-outgoing-webhook",
        "The security token shown when the outgoing webhook was created (base64)",
        SignatureSpec {
            key: KeyFormat::Base64 { strip: "" },
            location: Location::Authorization("HMAC"),
            ..sig(HmacSha256, "", Base64, "")
        },
    ),
    dedup(
        signed(
            "telegram",
            "Telegram Bot API",
            "https://core.telegram.org/bots/api#setwebhook",
            "The secret_token given to setWebhook",
            sig(Token, "X-Telegram-Bot-Api-Secret-Token", Plain, ""),
        ),
        "json:/update_id",
    ),
    signed(
        "line",
        "LINE Messaging API",
        "https://developers.line.biz/en/reference/messaging-api/#signature-validation",
        "The channel secret",
        sig(HmacSha256, "x-line-signature", Base64, ""),
    ),
    signed(
        "viber",
        "Viber bots",
        "https://developers.viber.com/docs/api/rest-bot-api/#callbacks",
        "The bot's authentication token",
        sig(HmacSha256, "X-Viber-Content-Signature", Hex, ""),
    ),
    signed(
        "telnyx",
        "Telnyx",
        "https://developers.telnyx.com/docs/messaging/messages/receiving-webhooks",
        "The account's public key (base64), from the portal",
        SignatureSpec {
            key: KeyFormat::Base64 { strip: "" },
            signed: &[Part::Timestamp, Part::Literal("|"), Part::Body],
            timestamp: header_ts("telnyx-timestamp", TimeUnit::Seconds, DEFAULT_TOLERANCE),
            ..sig(Ed25519, "telnyx-signature-ed25519", Base64, "")
        },
    ),
    handshake(
        signed(
            "twitter",
            "X (Twitter) Account Activity",
            "https://docs.x.com/x-api/enterprise-gnip-2.0/fundamentals/account-activity",
            "The app's consumer secret (API secret key)",
            sig(HmacSha256, "x-twitter-webhooks-signature", Base64, "sha256="),
        ),
        Handshake::TwitterCrc,
    ),
    signed(
        "workos",
        "WorkOS",
        "https://workos.com/docs/events/data-syncing/webhooks",
        "The endpoint's webhook secret",
        fields(
            "WorkOS-Signature",
            ',',
            "t",
            "v1",
            DOT_SIGNED,
            TimeUnit::Millis,
            180,
        ),
    ),
    signed(
        "persona",
        "Persona",
        "https://docs.withpersona.com/docs/webhooks-best-practices",
        "The webhook's secret",
        t_v1("Persona-Signature"),
    ),
    signed(
        "frameio",
        "Frame.io",
        "https://developer.frame.io/docs/automations-webhooks/webhooks-overview",
        "The webhook's signing secret",
        SignatureSpec {
            signed: V0_SIGNED,
            timestamp: header_ts(
                "X-Frameio-Request-Timestamp",
                TimeUnit::Seconds,
                DEFAULT_TOLERANCE,
            ),
            ..sig(HmacSha256, "X-Frameio-Signature", Hex, "v0=")
        },
    ),
    signed(
        "greenhouse",
        "Greenhouse Harvest",
        "https://developers.greenhouse.io/webhooks.html",
        "The web hook's secret key",
        sig(HmacSha256, "Signature", Hex, "sha256 "),
    ),
    signed(
        "ashby",
        "Ashby",
        "https://developers.ashbyhq.com/docs/authenticating-webhooks",
        "The webhook's secret token",
        sig(HmacSha256, "Ashby-Signature", Hex, "sha256="),
    ),
    signed(
        "lever",
        "Lever",
        "https://hire.lever.co/developer/documentation#securing-webhooks",
        "The webhook's signature token",
        SignatureSpec {
            location: Location::Json("/signature"),
            signed: &[Part::Json("/token"), Part::Json("/triggeredAt")],
            ..sig(HmacSha256, "", Hex, "")
        },
    ),
    signed(
        "pandadoc",
        "PandaDoc",
        "https://developers.pandadoc.com/docs/webhooks",
        "The webhook's shared key",
        SignatureSpec {
            location: Location::Query("signature"),
            ..sig(HmacSha256, "", Hex, "")
        },
    ),
    signed(
        "easypost",
        "EasyPost",
        "https://docs.easypost.com/guides/webhooks-guide",
        "The webhook's secret",
        sig(HmacSha256, "X-Hmac-Signature", Hex, "hmac-sha256-hex="),
    ),
    signed(
        "aftership",
        "AfterShip",
        "https://www.aftership.com/docs/tracking/webhook/webhook-signature",
        "The organization's webhook secret",
        sig(HmacSha256, "aftership-hmac-sha256", Base64, ""),
    ),
    signed(
        "fastspring",
        "FastSpring",
        "https://developer.fastspring.com/reference/message-security",
        "The webhook's HMAC SHA256 secret",
        sig(HmacSha256, "X-FS-Signature", Base64, ""),
    ),
    signed(
        "helpscout",
        "Help Scout",
        "https://developer.helpscout.com/webhooks/",
        "The webhook's secret key",
        sig(HmacSha1, "X-HelpScout-Signature", Base64, ""),
    ),
    signed(
        "mailchimp-transactional",
        "Mailchimp Transactional (Mandrill)",
        "https://mailchimp.com/developer/transactional/guides/track-respond-activity-webhooks/",
        "The webhook's key",
        SignatureSpec {
            signed: &[Part::Url, Part::SortedForm],
            ..sig(HmacSha1, "X-Mandrill-Signature", Base64, "")
        },
    ),
    signed(
        "expo",
        "Expo (EAS)",
        "https://docs.expo.dev/eas/webhooks/",
        "The webhook's secret",
        sig(HmacSha1, "expo-signature", Hex, "sha1="),
    ),
    signed(
        "figma",
        "Figma",
        "https://www.figma.com/developers/api#webhooks_v2",
        "The webhook's passcode",
        SignatureSpec {
            location: Location::Json("/passcode"),
            ..sig(Token, "", Plain, "")
        },
    ),
    signed(
        "sonarqube",
        "SonarQube",
        "https://docs.sonarsource.com/sonarqube-server/latest/project-administration/webhooks/",
        "The webhook's secret",
        sig(HmacSha256, "X-Sonar-Webhook-HMAC-SHA256", Hex, ""),
    ),
];
