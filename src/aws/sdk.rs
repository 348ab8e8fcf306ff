//! AWS clients for cplogs: the SDK's default configuration chain (environment,
//! profiles, SSO, instance roles) with optional region, profile and endpoint overrides.

use aws_config::retry::RetryConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};

/// Where and as whom to call AWS.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AwsOptions {
    /// Region override.
    pub region: Option<String>,
    /// Named profile.
    pub profile: Option<String>,
    /// Endpoint override (a local AWS API such as moto); `AWS_ENDPOINT_URL` also works.
    pub endpoint_url: Option<String>,
}

/// Loads the shared SDK configuration. Throttling and transient errors are retried
/// with exponential backoff, up to 6 attempts per call.
pub async fn load_config(opts: &AwsOptions) -> SdkConfig {
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .retry_config(RetryConfig::standard().with_max_attempts(6));
    if let Some(region) = &opts.region {
        loader = loader.region(Region::new(region.clone()));
    }
    if let Some(profile) = &opts.profile {
        loader = loader.profile_name(profile);
    }
    if let Some(url) = &opts.endpoint_url {
        loader = loader.endpoint_url(url);
    }
    loader.load().await
}

/// A Glue client.
pub fn glue_client(config: &SdkConfig) -> aws_sdk_glue::Client {
    aws_sdk_glue::Client::new(config)
}

/// An S3 client; path-style addressing when an endpoint override is set, since
/// local endpoints do not serve virtual-hosted bucket names.
#[cfg(feature = "s3")]
pub fn s3_client(config: &SdkConfig) -> aws_sdk_s3::Client {
    let path_style = config.endpoint_url().is_some();
    let s3 = aws_sdk_s3::config::Builder::from(config)
        .force_path_style(path_style)
        .build();
    aws_sdk_s3::Client::from_conf(s3)
}
