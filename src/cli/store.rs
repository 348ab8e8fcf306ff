//! Where the rewriting commands (`replay-errors`, `migrate-legacy`) read objects and
//! write files: a local directory laid out like the bucket, or the bucket itself.
//! Writes are whole or absent, and a file already there is left as it is.

use std::io;
use std::path::PathBuf;

use anyhow::{Context as _, Result};

use crate::ingest::replay::{ReplayFile, Replayed, StillFailing};

/// Where objects are read from and rewritten files written to: a local directory
/// laid out like the bucket, or the bucket.
pub enum Store {
    /// A directory.
    Local(PathBuf),
    /// A bucket.
    #[cfg(feature = "cloud")]
    S3 {
        /// The client.
        client: aws_sdk_s3::Client,
        /// The bucket.
        bucket: String,
    },
}

impl Store {
    /// Every key under `prefix`, sorted.
    pub async fn list(&self, prefix: &str) -> Result<Vec<String>> {
        match self {
            Store::Local(root) => {
                let mut out = Vec::new();
                let mut stack = vec![root.join(prefix)];
                while let Some(dir) = stack.pop() {
                    let entries = match std::fs::read_dir(&dir) {
                        Ok(e) => e,
                        Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                        Err(e) => {
                            return Err(e).with_context(|| format!("reading {}", dir.display()));
                        }
                    };
                    for entry in entries {
                        let path = entry?.path();
                        if path.is_dir() {
                            stack.push(path);
                        } else if let Ok(rel) = path.strip_prefix(root) {
                            out.push(rel.to_string_lossy().replace('\\', "/"));
                        }
                    }
                }
                out.sort();
                Ok(out)
            }
            #[cfg(feature = "cloud")]
            Store::S3 { client, bucket } => {
                let mut out = Vec::new();
                let mut pages = client
                    .list_objects_v2()
                    .bucket(bucket)
                    .prefix(prefix)
                    .into_paginator()
                    .send();
                while let Some(page) = pages.next().await {
                    let page = page.map_err(|e| {
                        anyhow::anyhow!(
                            "listing s3://{bucket}/{prefix}: {}",
                            aws_sdk_s3::error::DisplayErrorContext(&e)
                        )
                    })?;
                    out.extend(
                        page.contents()
                            .iter()
                            .filter_map(|o| o.key().map(str::to_owned)),
                    );
                }
                Ok(out)
            }
        }
    }

    /// An object's bytes.
    pub async fn read(&self, key: &str) -> Result<Vec<u8>> {
        match self {
            Store::Local(root) => {
                let path = root.join(key);
                std::fs::read(&path).with_context(|| format!("reading {}", path.display()))
            }
            #[cfg(feature = "cloud")]
            Store::S3 { client, bucket } => {
                let o = client
                    .get_object()
                    .bucket(bucket)
                    .key(key)
                    .send()
                    .await
                    .map_err(|e| {
                        anyhow::anyhow!(
                            "reading s3://{bucket}/{key}: {}",
                            aws_sdk_s3::error::DisplayErrorContext(&e)
                        )
                    })?;
                Ok(o.body
                    .collect()
                    .await
                    .with_context(|| format!("reading s3://{bucket}/{key}"))?
                    .to_vec())
            }
        }
    }

    /// Writes `file` unless it is there already (an earlier replay of the same
    /// object): whole or not at all. Returns whether it was written.
    pub async fn write_new(&self, file: &ReplayFile) -> Result<bool> {
        match self {
            Store::Local(root) => {
                let path = root.join(&file.key);
                if path.exists() {
                    return Ok(false);
                }
                let dir = path.parent().context("a replayed file has a folder")?;
                std::fs::create_dir_all(dir)
                    .with_context(|| format!("creating {}", dir.display()))?;
                // A hidden temporary name readers skip, renamed when complete.
                let tmp = dir.join(format!(
                    ".{}.tmp",
                    path.file_name()
                        .and_then(|n| n.to_str())
                        .unwrap_or("replay")
                ));
                std::fs::write(&tmp, &file.body)
                    .with_context(|| format!("writing {}", tmp.display()))?;
                std::fs::rename(&tmp, &path)
                    .with_context(|| format!("renaming into {}", path.display()))?;
                Ok(true)
            }
            #[cfg(feature = "cloud")]
            Store::S3 { client, bucket } => {
                let exists = client
                    .head_object()
                    .bucket(bucket)
                    .key(&file.key)
                    .send()
                    .await;
                if exists.is_ok() {
                    return Ok(false);
                }
                client
                    .put_object()
                    .bucket(bucket)
                    .key(&file.key)
                    .body(file.body.clone().into())
                    .send()
                    .await
                    .map_err(|e| {
                        anyhow::anyhow!(
                            "writing s3://{bucket}/{}: {}",
                            file.key,
                            aws_sdk_s3::error::DisplayErrorContext(&e)
                        )
                    })?;
                Ok(true)
            }
        }
    }
}

/// What rewriting objects into the cplogs layout did (`replay-errors`,
/// `migrate-legacy`).
#[derive(Debug, Default)]
pub struct Rewrite {
    /// Objects read.
    pub objects: u64,
    /// Records in them.
    pub records: u64,
    /// Records written now.
    pub written: u64,
    /// Files written now.
    pub files: u64,
    /// Records whose file was there already (an earlier run).
    pub already: u64,
    /// Records a dry run would write.
    pub would: u64,
    /// Records that could not be rewritten, with why.
    pub failing: Vec<StillFailing>,
}

impl Rewrite {
    /// Reads `key` from `from`, rewrites it with `rewrite` and writes the files that
    /// are not there yet to `to` (nothing on a dry run).
    pub async fn object(
        &mut self,
        from: &Store,
        key: &str,
        to: &Store,
        dry_run: bool,
        rewrite: impl FnOnce(&str, &[u8]) -> Result<Replayed, String>,
    ) -> Result<()> {
        self.objects += 1;
        let bytes = from.read(key).await?;
        let done = rewrite(key, &bytes).map_err(anyhow::Error::msg)?;
        self.records += done.records;
        self.failing.extend(done.failing);
        for file in &done.files {
            if dry_run {
                self.would += file.records;
            } else if to.write_new(file).await? {
                self.written += file.records;
                self.files += 1;
            } else {
                self.already += file.records;
            }
        }
        Ok(())
    }
}
