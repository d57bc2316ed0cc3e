//! The [`Blobs`] port over one S3 bucket ([`S3Blobs`]): a blob key is the object key.
//!
//! Create-if-absent is S3's conditional write (`If-None-Match: *`): S3 answers 412 Precondition
//! Failed when the object exists, so a retried transcript write never replaces the first one.
//! S3 answers 409 when another conditional write to the same key is still in flight; that is
//! reported as a backend fault (retryable), because which write will win is not known yet.

use aws_sdk_s3::Client;
use aws_sdk_s3::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_s3::primitives::ByteStream;
use hostline_shared::blob::Blobs;
use hostline_shared::store::StoreError;

/// The [`Blobs`] over one S3 bucket. Holds a client (cheap to clone) and the bucket name.
#[derive(Debug, Clone)]
pub struct S3Blobs {
    client: Client,
    bucket: String,
}

impl S3Blobs {
    pub fn new(client: Client, bucket: impl Into<String>) -> Self {
        S3Blobs {
            client,
            bucket: bucket.into(),
        }
    }

    pub fn client(&self) -> &Client {
        &self.client
    }

    pub fn bucket(&self) -> &str {
        &self.bucket
    }
}

fn backend<E, R>(op: &str, key: &str, e: SdkError<E, R>) -> StoreError
where
    E: std::error::Error + 'static,
    R: std::fmt::Debug,
{
    StoreError::Backend(format!("S3 {op} {key:?}: {}", DisplayErrorContext(&e)))
}

impl Blobs for S3Blobs {
    async fn put_if_absent(&self, key: &str, value: &[u8]) -> Result<bool, StoreError> {
        let res = self
            .client
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .if_none_match("*")
            .body(ByteStream::from(value.to_vec()))
            .send()
            .await;
        match res {
            Ok(_) => Ok(true),
            // The object exists. The typed error has no variant for this status, so it is
            // recognised by its code (and, should a proxy drop the body, by the status).
            Err(SdkError::ServiceError(e))
                if e.err().code() == Some("PreconditionFailed")
                    || e.raw().status().as_u16() == 412 =>
            {
                Ok(false)
            }
            Err(e) => Err(backend("PutObject (if absent)", key, e)),
        }
    }

    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let out = match self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
        {
            Ok(out) => out,
            Err(e) if e.as_service_error().is_some_and(|s| s.is_no_such_key()) => return Ok(None),
            Err(e) => return Err(backend("GetObject", key, e)),
        };
        let body = out.body.collect().await.map_err(|e| {
            StoreError::Backend(format!("S3 GetObject {key:?}: reading the body: {e}"))
        })?;
        Ok(Some(body.into_bytes().to_vec()))
    }

    async fn delete(&self, key: &str) -> Result<(), StoreError> {
        // S3 answers 204 whether or not the object existed.
        self.client
            .delete_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
            .map_err(|e| backend("DeleteObject", key, e))?;
        Ok(())
    }

    async fn list(&self, prefix: &str) -> Result<Vec<String>, StoreError> {
        let mut keys = Vec::new();
        let mut token = None;
        loop {
            let out = self
                .client
                .list_objects_v2()
                .bucket(&self.bucket)
                .prefix(prefix)
                .set_continuation_token(token.take())
                .send()
                .await
                .map_err(|e| backend("ListObjectsV2", prefix, e))?;
            keys.extend(
                out.contents
                    .unwrap_or_default()
                    .into_iter()
                    .filter_map(|o| o.key),
            );
            match out.next_continuation_token {
                Some(t) if out.is_truncated == Some(true) => token = Some(t),
                _ => break,
            }
        }
        // S3 lists in UTF-8 byte order already; sorting keeps the port's promise on any
        // S3-compatible store.
        keys.sort();
        Ok(keys)
    }
}
