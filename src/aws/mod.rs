//! The AWS side of cplogs: the schema as Glue tables, partitions, reconciling S3 with
//! Glue, table management, the template's tables and IAM policies. Each module sits
//! behind the feature that needs it, so the partition Lambda (feature `aws`) compiles
//! only the SDK configuration, the Glue rendering and partition registration.

#[cfg(feature = "cloud")]
pub mod codepipeline;
pub mod glue;
#[cfg(feature = "cloud")]
pub mod iam;
#[cfg(feature = "aws")]
pub mod partitions;
#[cfg(feature = "s3")]
pub mod repair;
#[cfg(feature = "s3")]
pub mod scan;
#[cfg(feature = "aws")]
pub mod sdk;
#[cfg(feature = "cloud")]
pub mod tables;
#[cfg(feature = "cloud")]
pub mod template;
