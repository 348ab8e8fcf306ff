//! `cplogs iam-policy`: the minimal IAM policy of a command, with ARNs from the
//! settings. The data it grants is always named exactly: without a configured result
//! location the workgroup's is read from Athena, and what cannot be known is asked for.

use std::io::{self, Write};

use anyhow::Result;
use aws_sdk_athena::error::DisplayErrorContext;
use clap::Args;

use super::exit::{Exit, UsageError};
use super::global::Context;
use crate::aws::iam::{PolicyContext, commands, policy};

/// `cplogs iam-policy`
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  cplogs iam-policy report --account 123456789012 --bucket my-cplogs-bucket
  cplogs iam-policy repair-partitions --region eu-west-1
  cplogs iam-policy backfill --bucket my-cplogs-bucket --role-arn arn:aws:iam::111122223333:role/cplogs-backfill")]
pub struct IamPolicyArgs {
    /// The command to print the policy for; default: every command.
    #[arg(value_enum)]
    pub command: Option<crate::aws::iam::PolicyCommand>,
    /// Account id for the ARNs (default: any account, `*`).
    #[arg(long)]
    pub account: Option<String>,
    /// AWS partition for the ARNs.
    #[arg(long, default_value = "aws")]
    pub partition: String,
    /// `backfill`: a role it assumes in another account (repeatable).
    #[arg(long = "role-arn", value_name = "ARN")]
    pub role_arns: Vec<String>,
}

/// Prints the policy.
pub fn run(args: &IamPolicyArgs, cx: &Context) -> Result<Exit> {
    // `--account '*'` was the documented default: it still means any account.
    let account = args.account.clone().filter(|a| a != "*");
    // Both end up inside ARNs: only what AWS itself allows there.
    if let Some(a) = &account
        && !(a.len() == 12 && a.bytes().all(|b| b.is_ascii_digit()))
    {
        return Err(UsageError(format!(
            "--account {a:?} is not an AWS account id (12 digits)"
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
    let mut ctx = PolicyContext {
        partition: args.partition.clone(),
        region: s.region.clone(),
        account,
        database: s.database.clone(),
        bucket: s.bucket.clone(),
        workgroup: s.workgroup.clone(),
        output_location: s.output_location.clone(),
        roles: args.role_arns.clone(),
    };
    let wanted = commands(args.command);
    // The bucket is asked for before any AWS call: nothing could stand in for it.
    if let Some(c) = wanted.iter().find(|c| c.needs_bucket())
        && ctx.bucket.is_none()
    {
        return Err(
            UsageError(crate::aws::iam::PolicyError::NoBucket(c.name()).to_string()).into(),
        );
    }
    if let Some(c) = wanted.iter().find(|c| c.needs_output_location())
        && ctx.output_location.is_none()
    {
        let (location, region) = super::select::run_blocking(workgroup_location(cx, c.name()))?;
        ctx.output_location = Some(location);
        ctx.region = ctx.region.or(region);
    }
    let doc = policy(args.command, &ctx).map_err(|e| UsageError(e.to_string()))?;
    writeln!(
        io::stdout().lock(),
        "{}",
        serde_json::to_string_pretty(&doc)?
    )?;
    Ok(Exit::Success)
}

/// The result location of the configured workgroup (Athena GetWorkGroup), and the
/// region it was read in; a usage error asking for `--output-location` when it cannot
/// be known.
async fn workgroup_location(cx: &Context, command: &str) -> Result<(String, Option<String>)> {
    let workgroup = &cx.settings.workgroup;
    let ask = |why: String| {
        UsageError(format!(
            "the policy of `{command}` names the Athena result location, which is not \
             configured, and {why}: pass --output-location s3://BUCKET/PREFIX/ (or \
             CPLOGS_OUTPUT_LOCATION, or `output_location` in the config file)"
        ))
    };
    let config = cx
        .sdk_config(
            &ask(format!(
                "workgroup {workgroup}'s cannot be read without an AWS region (--region, \
             AWS_REGION or a profile's region)"
            ))
            .0,
        )
        .await?;
    let region = config.region().map(|r| r.to_string());
    let answer = aws_sdk_athena::Client::new(&config)
        .get_work_group()
        .work_group(workgroup)
        .send()
        .await
        .map_err(|e| {
            ask(format!(
                "workgroup {workgroup}'s could not be read ({})",
                DisplayErrorContext(e)
            ))
        })?;
    let location = answer
        .work_group()
        .and_then(|w| w.configuration())
        .and_then(|c| c.result_configuration())
        .and_then(|r| r.output_location())
        .filter(|l| !l.is_empty())
        .ok_or_else(|| ask(format!("workgroup {workgroup} has none")))?;
    Ok((location.to_owned(), region))
}
