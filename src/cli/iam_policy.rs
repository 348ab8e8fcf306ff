//! `cplogs iam-policy`: the minimal IAM policy of a command, with ARNs from the
//! settings.

use std::io::{self, Write};

use anyhow::Result;
use clap::Args;

use super::exit::{Exit, UsageError};
use super::global::Context;

/// `cplogs iam-policy`
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  cplogs iam-policy report --account 123456789012 --bucket my-cplogs-bucket
  cplogs iam-policy repair-partitions --region eu-west-1")]
pub struct IamPolicyArgs {
    /// The command to print the policy for; default: every command.
    #[arg(value_enum)]
    pub command: Option<crate::aws::iam::PolicyCommand>,
    /// Account id for the ARNs (default: *).
    #[arg(long, default_value = "*")]
    pub account: String,
    /// AWS partition for the ARNs.
    #[arg(long, default_value = "aws")]
    pub partition: String,
}

/// Prints the policy.
pub fn run(args: &IamPolicyArgs, cx: &Context) -> Result<Exit> {
    // Both end up inside ARNs: only what AWS itself allows there.
    if args.account != "*"
        && !(args.account.len() == 12 && args.account.bytes().all(|b| b.is_ascii_digit()))
    {
        return Err(UsageError(format!(
            "--account {:?} is not an AWS account id (12 digits)",
            args.account
        ))
        .into());
    }
    if args.partition.is_empty()
        || !args
            .partition
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b == b'-')
    {
        return Err(UsageError(format!(
            "--partition {:?} is not an AWS partition (aws, aws-cn, aws-us-gov, …)",
            args.partition
        ))
        .into());
    }
    let s = &cx.settings;
    let or_star = |v: &Option<String>| v.clone().unwrap_or_else(|| "*".into());
    let ctx = crate::aws::iam::PolicyContext {
        partition: args.partition.clone(),
        region: or_star(&s.region),
        account: args.account.clone(),
        database: s.database.clone(),
        bucket: or_star(&s.bucket),
        workgroup: s.workgroup.clone(),
        output_location: s.output_location.clone(),
    };
    let doc = crate::aws::iam::policy(args.command, &ctx);
    writeln!(
        io::stdout().lock(),
        "{}",
        serde_json::to_string_pretty(&doc)?
    )?;
    Ok(Exit::Success)
}
