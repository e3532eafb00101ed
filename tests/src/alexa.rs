//! Stand-ins for Amazon: a throwaway CA, an RSA signing certificate it issued, and a chain
//! source that serves that certificate instead of downloading Amazon's.

use bytes::Bytes;
use hookgate_domain::Error;
use hookgate_gateway::{AlexaVerifier, ChainFuture, ChainSource};
use rustls_pki_types::{CertificateDer, TrustAnchor};
use std::sync::{Arc, OnceLock};

pub const CERT_URL: &str = "https://s3.amazonaws.com/echo.api/echo-api-cert.pem";

pub struct Issued {
    pub anchor: CertificateDer<'static>,
    pub chain_pem: String,
    key: rsa::RsaPrivateKey,
}

/// One RSA key per test binary: generating one takes a while.
fn rsa_key() -> rsa::RsaPrivateKey {
    static KEY: OnceLock<rsa::RsaPrivateKey> = OnceLock::new();
    KEY.get_or_init(|| rsa::RsaPrivateKey::new(&mut rand::thread_rng(), 2048).expect("rsa key"))
        .clone()
}

impl Issued {
    /// A certificate for `name`, valid from 2020 until 1 January of `not_after_year`.
    pub fn new(name: &str, not_after_year: i32) -> Self {
        use rsa::pkcs8::EncodePrivateKey;
        let ca_key = rcgen::KeyPair::generate().expect("ca key");
        let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).expect("ca");
        ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        ca_params.key_usages = vec![
            rcgen::KeyUsagePurpose::KeyCertSign,
            rcgen::KeyUsagePurpose::DigitalSignature,
        ];
        let ca = ca_params.self_signed(&ca_key).expect("ca cert");
        let key = rsa_key();
        let pkcs8 = key.to_pkcs8_der().expect("pkcs8");
        let signing_key = rcgen::KeyPair::from_pkcs8_der_and_sign_algo(
            &pkcs8.as_bytes().into(),
            &rcgen::PKCS_RSA_SHA256,
        )
        .expect("rsa key pair");
        let mut params = rcgen::CertificateParams::new(vec![name.to_owned()]).expect("params");
        params.not_before = rcgen::date_time_ymd(2020, 1, 1);
        params.not_after = rcgen::date_time_ymd(not_after_year, 1, 1);
        params.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ServerAuth];
        let signing = params
            .signed_by(&signing_key, &ca, &ca_key)
            .expect("signing cert");
        Self {
            anchor: ca.der().clone(),
            chain_pem: signing.pem(),
            key,
        }
    }

    /// The `Signature-256` bytes Amazon would send with `body`.
    pub fn sign(&self, body: &[u8]) -> Vec<u8> {
        use rsa::signature::{SignatureEncoding, Signer};
        rsa::pkcs1v15::SigningKey::<rsa::sha2::Sha256>::new(self.key.clone())
            .sign(body)
            .to_vec()
    }

    pub fn trust_anchor(&self) -> TrustAnchor<'static> {
        webpki::anchor_from_trusted_cert(&self.anchor)
            .expect("trust anchor")
            .to_owned()
    }

    /// A verifier that trusts only this CA and gets `chain` for every URL.
    pub fn verifier(&self, chain: &str) -> AlexaVerifier {
        let source = FixedChain(Bytes::from(chain.to_owned()));
        AlexaVerifier::new(Arc::new(source), vec![self.trust_anchor()])
    }
}

struct FixedChain(Bytes);

impl ChainSource for FixedChain {
    fn fetch<'a>(&'a self, _url: &'a str) -> ChainFuture<'a> {
        Box::pin(async move { Ok::<_, Error>(self.0.clone()) })
    }
}
