//! The local DynamoDB/S3 emulator (moto's server, installed by scripts/aws-emulator) every AWS
//! test starts on 127.0.0.1, with the table and bucket laid out as template.yaml lays them out.

use aws_config::{Region, SdkConfig};
use aws_sdk_dynamodb::config::Credentials;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType,
    TimeToLiveSpecification,
};
use hostline_lambda_adapter::{
    DynamoStore, S3Blobs, attr, config_loader, dynamo_client, s3_client,
};
use std::io::Read;
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};

/// The table and bucket names the tests use.
pub const TABLE: &str = "hostline";
pub const BUCKET: &str = "hostline-blobs";

/// Where the emulator's python is: `HOSTLINE_MOTO_PYTHON` (scripts/test sets it), else the venv
/// scripts/aws-emulator makes under this target directory.
fn python() -> PathBuf {
    let python = match std::env::var_os("HOSTLINE_MOTO_PYTHON") {
        Some(p) => PathBuf::from(p),
        None => {
            // CARGO_TARGET_TMPDIR is `<target>/tmp`.
            let tmp = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
            tmp.parent()
                .unwrap_or(&tmp)
                .join("aws-emulator-venv/bin/python")
        }
    };
    // Never a silent skip: without the emulator these tests have nothing to test against.
    assert!(
        python.exists(),
        "the local AWS emulator (moto) is not installed: run scripts/test, or scripts/aws-emulator \
         once before `cargo test` (looked for {})",
        python.display()
    );
    python
}

/// The emulator's process. Dropping it stops the emulator; so does this test process ending any
/// other way (the emulator exits when its stdin, held here, closes).
pub struct Emulator {
    child: Child,
    _stdin: ChildStdin,
    pub url: String,
}

/// Runs moto's server, with a thread that ends it once stdin reaches end of file, serving one
/// request at a time. moto checks a write's condition and then writes without a lock, so on its
/// usual threaded server two racing conditional writes can both pass (seen here: 2 and 3
/// winners of 12 in a round); DynamoDB and S3 apply each conditional write atomically. Serving
/// requests one by one gives the emulator that guarantee, so the race tests below check what is
/// ours: that the conditions sent let exactly one of the racers through, whatever the order.
const LAUNCH: &str = r#"
import os, sys, threading
import moto.server
from werkzeug.serving import run_simple
def watch():
    sys.stdin.buffer.read()
    os._exit(0)
def one_at_a_time(*args, **kwargs):
    kwargs["threaded"] = False
    run_simple(*args, **kwargs)
threading.Thread(target=watch, daemon=True).start()
moto.server.run_simple = one_at_a_time
moto.server.main(["-H", "127.0.0.1", "-p", "0"])
"#;

impl Emulator {
    pub fn start() -> Emulator {
        let log = tempfile::NamedTempFile::new().expect("a temporary file for the emulator log");
        let mut child = Command::new(python())
            .args(["-c", LAUNCH])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(log.reopen().expect("reopen the emulator log"))
            .spawn()
            .expect("start the emulator");
        let stdin = child.stdin.take().expect("the emulator's stdin");
        let mut emulator = Emulator {
            child,
            _stdin: stdin,
            url: String::new(),
        };
        // Bounded by count: the emulator normally says where it listens within a second or two.
        for _ in 0..1200 {
            let mut text = String::new();
            let _ = std::fs::File::open(log.path()).and_then(|mut f| f.read_to_string(&mut text));
            if let Some(url) = listening_url(&text) {
                emulator.url = url;
                return emulator;
            }
            if let Ok(Some(status)) = emulator.child.try_wait() {
                panic!("the emulator exited ({status}) before listening:\n{text}");
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        panic!("the emulator did not say where it listens");
    }

    pub async fn config(&self) -> SdkConfig {
        config_loader(Some(&self.url))
            .region(Region::new("us-east-1"))
            .credentials_provider(Credentials::new("test", "test", None, None, "emulator"))
            .load()
            .await
    }

    /// A fresh table laid out as the SAM template lays it out, with its TTL attribute.
    pub async fn store(&self) -> DynamoStore {
        let client = dynamo_client(&self.config().await);
        let table = TABLE;
        let def = |name: &str| {
            AttributeDefinition::builder()
                .attribute_name(name)
                .attribute_type(ScalarAttributeType::S)
                .build()
                .expect("attribute definition")
        };
        let key = |name: &str, kind| {
            KeySchemaElement::builder()
                .attribute_name(name)
                .key_type(kind)
                .build()
                .expect("key schema element")
        };
        client
            .create_table()
            .table_name(table)
            .attribute_definitions(def(attr::PARTITION))
            .attribute_definitions(def(attr::SORT))
            .key_schema(key(attr::PARTITION, KeyType::Hash))
            .key_schema(key(attr::SORT, KeyType::Range))
            .billing_mode(BillingMode::PayPerRequest)
            .send()
            .await
            .expect("create the table");
        client
            .update_time_to_live()
            .table_name(table)
            .time_to_live_specification(
                TimeToLiveSpecification::builder()
                    .attribute_name(attr::EXPIRES)
                    .enabled(true)
                    .build()
                    .expect("TTL specification"),
            )
            .send()
            .await
            .expect("turn on TTL");
        DynamoStore::new(client, table)
    }

    pub async fn blobs(&self) -> S3Blobs {
        let client = s3_client(&self.config().await, true);
        let bucket = BUCKET;
        client
            .create_bucket()
            .bucket(bucket)
            .send()
            .await
            .expect("create the bucket");
        S3Blobs::new(client, bucket)
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The address in werkzeug's " * Running on http://127.0.0.1:PORT" line.
fn listening_url(log: &str) -> Option<String> {
    let at = log.find("Running on http://")? + "Running on ".len();
    let url: String = log[at..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, ':' | '/' | '.'))
        .collect();
    url.rsplit_once(':')
        .is_some_and(|(_, port)| !port.is_empty() && port.chars().all(|c| c.is_ascii_digit()))
        .then_some(url)
}
