//! What an S3 connection string leaves open, resolved the AWS way: the region and the
//! credentials (see the [`crate::s3`] module docs for the order of each); and the HTTPS client
//! of every AWS request.
//!
//! The instance-metadata service (IMDS) is asked once, with short timeouts, and only for
//! credentials, so a machine outside EC2 learns that it has none in about a second rather
//! than after several retried probes.

use std::error::Error as StdError;
use std::time::Duration;

use aws_config::default_provider::credentials::DefaultCredentialsChain;
use aws_config::imds::client::error::ImdsError;
use aws_config::meta::region::ProvideRegion;
use aws_config::provider_config::ProviderConfig;
use aws_credential_types::provider::error::CredentialsError;
use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider};
use aws_sdk_s3::config::{Region, SharedHttpClient};
use aws_smithy_http_client::proxy::ProxyConfig;
use aws_smithy_http_client::tls::{Provider, rustls_provider::CryptoMode};
use aws_smithy_http_client::{Builder, ConnectorBuilder};

use crate::error::{Error, ErrorKind, Operation, Result};
use crate::s3::DEFAULT_REGION;

/// Connect and read timeout of the one IMDS attempt.
const IMDS_TIMEOUT: Duration = Duration::from_secs(1);
/// Bound on the whole credentials look-up (profile, SSO, web identity, container, IMDS).
const CREDENTIALS_TIMEOUT: Duration = Duration::from_secs(10);

/// How to give credentials, ending every "no credentials" message.
const CREDENTIALS_FIX: &str = "put KEY:SECRET@ in the connection string, or set \
    AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE";

/// Reads one environment variable of the process.
pub(crate) fn process_env(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

/// The region: `explicit` (`?region=`), else `AWS_REGION`, else `AWS_DEFAULT_REGION` (read
/// through `env`), else what `profile` says (the AWS profile's `region`), else `us-east-1`.
pub(crate) async fn region(
    explicit: Option<&str>,
    env: &(dyn Fn(&str) -> Option<String> + Sync),
    profile: impl ProvideRegion,
) -> Region {
    if let Some(region) = explicit {
        return Region::new(region.to_owned());
    }
    let from_env = ["AWS_REGION", "AWS_DEFAULT_REGION"]
        .into_iter()
        .find_map(|name| env(name).filter(|value| !value.trim().is_empty()));
    if let Some(region) = from_env {
        return Region::new(region.trim().to_owned());
    }
    profile
        .region()
        .await
        .unwrap_or_else(|| Region::new(DEFAULT_REGION))
}

/// The HTTPS client of the S3 requests and of the credential providers: hyper with rustls on
/// ring, the crypto crate s3db already uses for secrets. The SDK's default client is the
/// same but on aws-lc, a C library with a long build; this one is built the way the SDK
/// builds its default (`aws-smithy-runtime`'s `default_https_client`): the SDK's timeouts
/// and sleep, proxies from `HTTPS_PROXY` / `HTTP_PROXY` / `NO_PROXY`, the system's trusted
/// certificates, and one connection pool per timeout setting.
pub(crate) fn https_client() -> SharedHttpClient {
    Builder::new().build_with_connector_fn(|settings, components| {
        let mut connector =
            ConnectorBuilder::default().tls_provider(Provider::Rustls(CryptoMode::Ring));
        connector.set_connector_settings(settings.cloned());
        if let Some(components) = components {
            connector.set_sleep_impl(components.sleep_impl());
        }
        connector.set_proxy_config(Some(ProxyConfig::from_env()));
        connector.build()
    })
}

/// The AWS default credentials chain (environment, profile, web identity, container, IMDS),
/// asked once up front so that missing credentials are an error at connect time. `http`
/// carries the requests of the providers that make some (IMDS, container, web identity).
pub(crate) async fn default_credentials(
    region: Region,
    http: SharedHttpClient,
) -> Result<SharedCredentialsProvider> {
    let providers = ProviderConfig::default().with_http_client(http);
    let imds = aws_config::imds::Client::builder()
        .configure(&providers)
        .max_attempts(1)
        .connect_timeout(IMDS_TIMEOUT)
        .read_timeout(IMDS_TIMEOUT)
        .build();
    let chain = DefaultCredentialsChain::builder()
        .configure(providers)
        .region(region)
        .imds_client(imds)
        .build()
        .await;
    match tokio::time::timeout(CREDENTIALS_TIMEOUT, chain.provide_credentials()).await {
        Ok(Ok(_)) => Ok(SharedCredentialsProvider::new(chain)),
        Ok(Err(error)) => Err(credentials_error(&error)),
        Err(_) => Err(connect_error(ErrorKind::Unavailable).with_message(format!(
            "looking up AWS credentials took longer than {} s; {CREDENTIALS_FIX}",
            CREDENTIALS_TIMEOUT.as_secs()
        ))),
    }
}

fn connect_error(kind: ErrorKind) -> Error {
    Error::new(kind, Operation::Connect, "")
}

/// The default chain found nothing: what is missing and how to fix it, on one line.
fn no_credentials() -> Error {
    connect_error(ErrorKind::InvalidInput)
        .with_message(format!("no AWS credentials found: {CREDENTIALS_FIX}"))
}

/// One line for a failed credentials look-up. "Nothing configured" and "not on EC2" (IMDS
/// refused or unreachable) both read as [`no_credentials`]; a provider that is configured
/// but fails (a broken profile, a refused role) is named with its causes.
fn credentials_error(error: &CredentialsError) -> Error {
    let causes = std::iter::successors(Some(error as &(dyn StdError + 'static)), |e| (*e).source());
    let texts: Vec<String> = causes.clone().map(ToString::to_string).collect();
    tracing::debug!(causes = %texts.join(": "), "AWS credentials look-up failed");
    let from_imds = causes.into_iter().any(|e| e.is::<ImdsError>());
    match error {
        CredentialsError::CredentialsNotLoaded(_) => no_credentials(),
        _ if from_imds => no_credentials(),
        CredentialsError::ProviderTimedOut(_) => connect_error(ErrorKind::Unavailable)
            .with_message(format!("AWS credentials: {}", texts.join(": "))),
        _ => connect_error(ErrorKind::InvalidInput)
            .with_message(format!("cannot load AWS credentials: {}", texts.join(": "))),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        move |name| map.get(name).cloned()
    }

    async fn resolved(explicit: Option<&str>, pairs: &[(&str, &str)], profile: &str) -> String {
        let profile = (!profile.is_empty()).then(|| Region::new(profile.to_owned()));
        region(explicit, &env(pairs), profile)
            .await
            .as_ref()
            .to_owned()
    }

    #[tokio::test]
    async fn region_precedence() {
        let both = [
            ("AWS_REGION", "eu-west-1"),
            ("AWS_DEFAULT_REGION", "eu-west-2"),
        ];
        assert_eq!(
            resolved(Some("ap-south-1"), &both, "sa-east-1").await,
            "ap-south-1",
            "?region= first"
        );
        assert_eq!(resolved(None, &both, "sa-east-1").await, "eu-west-1");
        assert_eq!(
            resolved(None, &both[1..], "sa-east-1").await,
            "eu-west-2",
            "AWS_DEFAULT_REGION after AWS_REGION"
        );
        assert_eq!(
            resolved(None, &[("AWS_REGION", " ")], "sa-east-1").await,
            "sa-east-1",
            "blank is unset; then the profile"
        );
        assert_eq!(resolved(None, &[], "").await, DEFAULT_REGION);
    }

    #[tokio::test]
    async fn the_profile_region_comes_from_the_aws_config_file() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("config");
        std::fs::write(
            &file,
            "[default]\nregion = us-west-2\n[profile work]\nregion = eu-north-1\n",
        )
        .unwrap();
        for (name, expected) in [("default", "us-west-2"), ("work", "eu-north-1")] {
            #[allow(deprecated)]
            let files = aws_config::profile::profile_file::ProfileFiles::builder()
                .with_file(
                    aws_config::profile::profile_file::ProfileFileKind::Config,
                    &file,
                )
                .include_default_credentials_file(false)
                .build();
            let profile = aws_config::profile::ProfileFileRegionProvider::builder()
                .profile_files(files)
                .profile_name(name)
                .build();
            assert_eq!(region(None, &env(&[]), profile).await.as_ref(), expected);
        }
    }

    #[test]
    fn missing_credentials_read_as_one_line_with_the_fix() {
        let error = credentials_error(&CredentialsError::not_loaded("no providers in chain"));
        assert_eq!(error.kind(), ErrorKind::InvalidInput);
        assert_eq!(error.operation(), Operation::Connect);
        let text = error.to_string();
        assert!(text.contains("no AWS credentials found"), "{text}");
        assert!(text.contains(CREDENTIALS_FIX), "{text}");
        assert!(!text.contains('\n'), "{text}");

        let broken = credentials_error(&CredentialsError::invalid_configuration(
            "profile `work` has no role_arn",
        ));
        assert_eq!(broken.kind(), ErrorKind::InvalidInput);
        assert!(broken.to_string().contains("role_arn"), "{broken}");
        let slow = credentials_error(&CredentialsError::provider_timed_out(Duration::from_secs(
            5,
        )));
        assert!(slow.is_retryable());
    }
}
