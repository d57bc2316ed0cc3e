//! The black-box route tests the runner passes (`hostline_test_support::deployment`), run
//! against the Lambda binaries: each function of template.yaml its own process on the Lambda
//! Runtime API, behind a local API Gateway, over DynamoDB and S3 as the moto emulator speaks
//! them (tests/support/local_lambda.rs). A restart stops every process, so what survives it
//! was in the table and the bucket.

mod support;

use hostline_test_support::deployment::{self, Client, Deployment, secrets::*};
use hostline_test_support::fake_http::{FakeHttp, FakeRules};
use hostline_test_support::{ORDER_TIME, tool_call_message};
use support::local_lambda::LocalLambda;

/// The collection on local Lambda, with its client.
struct Aws {
    local: LocalLambda,
    client: Client,
}

impl Aws {
    /// Started with the parameters an operator passes to `sam deploy`, and `more`.
    fn start(more: &[(&str, &str)]) -> Aws {
        let mut parameters = deploy_parameters().to_vec();
        parameters.extend_from_slice(more);
        let local = LocalLambda::start(&parameters, &[]);
        let client = Client::new(local.url.clone());
        Aws { local, client }
    }

    /// Started with every secret in SSM Parameter Store under one path (SecretsPath) instead of
    /// the template's secret parameters, which stay empty.
    fn start_with_secrets_in_ssm(more: &[(&str, &str)]) -> Aws {
        const PATH: &str = "/hostline/test";
        let sam = support::template::parse(&support::template::repo_file("template.yaml"));
        let mut ssm = Vec::new();
        let mut parameters = vec![("SecretsPath", PATH)];
        for (parameter, value) in deploy_parameters() {
            // A secret is a parameter with no default; settings are named by their variable.
            let secret = sam.parameters.get(parameter) == Some(&Some(String::new()));
            if !secret {
                parameters.push((parameter, value));
                continue;
            }
            let variable = sam
                .functions
                .iter()
                .flat_map(|f| &f.env)
                .find(|(_, p)| p.as_deref() == Some(parameter))
                .map(|(v, _)| v.to_ascii_lowercase())
                .unwrap_or_else(|| panic!("no function uses {parameter}"));
            ssm.push((format!("{PATH}/{variable}"), value.to_owned()));
        }
        parameters.extend_from_slice(more);
        let ssm: Vec<(&str, &str)> = ssm.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let local = LocalLambda::start(&parameters, &ssm);
        let client = Client::new(local.url.clone());
        Aws { local, client }
    }
}

/// The template parameters an operator passes to `sam deploy`: the secrets and the URLs.
fn deploy_parameters() -> [(&'static str, &'static str); 11] {
    [
        ("AdminToken", ADMIN_TOKEN),
        ("VapiSecret", VAPI_SECRET),
        ("ToolTokenKey", "lambda-test-tool-token-key"),
        ("TwilioAuthToken", TWILIO_TOKEN),
        ("RelayTokenKey", RELAY_KEY),
        ("ServiceToken", SERVICE_TOKEN),
        ("JwtKey", "lambda-test-jwt-key-of-at-least-32-bytes"),
        ("PiiHashKey", "lambda-test-pii-hash-key"),
        ("PiiEncryptionKey", "lambda-test-pii-encryption-key"),
        ("PublicBaseUrl", PUBLIC_BASE_URL),
        ("RelayUrl", RELAY_URL),
    ]
}

impl Drop for Aws {
    /// Every request the functions made was one their template policies allow (or the test
    /// failed already).
    fn drop(&mut self) {
        let denied = self.local.denied();
        if !std::thread::panicking() {
            assert!(
                denied.is_empty(),
                "template.yaml does not grant: {denied:?}"
            );
        }
    }
}

impl Deployment for Aws {
    fn client(&self) -> &Client {
        &self.client
    }

    fn restart(&mut self) {
        self.local.restart();
    }

    fn seeds_demo(&self) -> bool {
        false
    }
}

fn fake_twilio() -> FakeHttp {
    FakeRules::new()
        .on(
            "POST",
            "/Messages.json",
            201,
            r#"{"sid":"SM0123456789abcdef0123456789abcdef","status":"queued"}"#,
        )
        .start()
}

#[test]
fn the_collection_end_to_end_on_lambda_with_restart() {
    let mut aws = Aws::start(&[]);
    deployment::collection_with_restart(&mut aws);
    let usage = aws.local.function_usage();
    // Every process started twice (once per start), and asked for work each time.
    for (name, u) in &usage {
        assert_eq!(u.inits.len(), 2, "{name}: {u:?}");
    }
    assert!(usage["knowledge-base"].invocations > 10, "{usage:?}");
}

/// With the secrets in SSM Parameter Store, not in the template's parameters: the functions
/// read them at cold start (an admin call, a tool credential and a Twilio signature all work).
#[test]
fn an_order_by_phone_is_texted_once_on_lambda_with_secrets_in_ssm() {
    let twilio = fake_twilio();
    let url = twilio.url();
    let aws = Aws::start_with_secrets_in_ssm(&[
        ("TwilioAccountSid", TWILIO_ACCOUNT),
        ("TwilioApiBase", url.as_str()),
    ]);
    deployment::order_texted_once(&aws, &twilio);
}

#[test]
fn the_onboarding_wizard_on_lambda_against_fake_twilio_and_vapi() {
    let twilio = deployment::onboarding_twilio();
    let vapi = deployment::onboarding_vapi();
    let (twilio_url, vapi_url) = (twilio.url(), vapi.url());
    let mut aws = Aws::start(&[
        ("TwilioAccountSid", TWILIO_ACCOUNT),
        ("TwilioApiBase", twilio_url.as_str()),
        ("TwilioVerifyFrom", VERIFY_FROM),
        ("VapiApiKey", VAPI_API_KEY),
        ("VapiApiBase", vapi_url.as_str()),
        ("TrialSeconds", TRIAL_SECONDS),
    ]);
    deployment::onboarding_wizard(&mut aws, &twilio, &vapi);
}

#[test]
fn an_owner_account_on_lambda_with_restart() {
    let mut aws = Aws::start(&[]);
    deployment::owner_account_with_restart(&mut aws);
}

#[test]
fn every_scripted_conversation_on_lambda() {
    let aws = Aws::start(&[]);
    deployment::scripted_conversations(&aws);
}

#[test]
fn the_gateway_answers_unrouted_paths_as_api_gateway_does() {
    let aws = Aws::start(&[]);
    let (status, body) = aws.client.send(reqwest::Method::GET, "/nowhere", &[], "");
    assert_eq!(
        (status, body),
        (404, serde_json::json!({"message": "Not Found"}))
    );
    // `/kitchen/{proxy+}` needs something after the prefix.
    let (status, _) = aws.client.send(reqwest::Method::GET, "/kitchen/", &[], "");
    assert_eq!(status, 404);
    let (status, page) = aws
        .client
        .send(reqwest::Method::GET, "/kitchen/demo-boba", &[], "");
    assert_eq!(status, 200);
    assert!(page.as_str().is_some_and(|p| p.contains("<html")), "{page}");
}

#[test]
fn the_meter_sizes_items_by_dynamodb_rules() {
    use support::local_lambda::{item_size, units};
    let item = serde_json::json!({"pk": {"S": "biz/a"}, "sk": {"S": "cart"}, "n": {"N": "12345"}});
    // "pk" + 5, "sk" + 4, "n" + (5 digits / 2 + 1)
    assert_eq!(item_size(&item), 2 + 5 + 2 + 4 + 1 + 3);
    assert_eq!(units(0, 4096), 1.0, "a read of nothing still costs a unit");
    assert_eq!(units(4097, 4096), 2.0);
}

/// AWS list prices (US East, N. Virginia; on-demand), as published when this was written
/// (2025; this machine cannot reach AWS to re-check them). The README's figure quotes them.
mod price {
    /// Lambda on arm64, per GB-second of billed duration.
    pub const LAMBDA_GB_SECOND: f64 = 0.000_013_333_4;
    pub const LAMBDA_REQUEST: f64 = 0.20 / 1e6;
    /// API Gateway HTTP API, per request (first 300 million a month).
    pub const HTTP_API_REQUEST: f64 = 1.00 / 1e6;
    /// DynamoDB on-demand, per write and per read request unit.
    pub const WRITE_UNIT: f64 = 0.625 / 1e6;
    pub const READ_UNIT: f64 = 0.125 / 1e6;
    /// S3 Standard: PUT/COPY/POST/LIST, and GET/HEAD, per request; storage per GB-month.
    pub const S3_CLASS_A: f64 = 0.005 / 1000.0;
    pub const S3_CLASS_B: f64 = 0.0004 / 1000.0;
    pub const S3_GB_MONTH: f64 = 0.023;
    /// One always-on 2-vCPU server for comparison: EC2 c7g.large (2 vCPU, 4 GiB), per hour.
    pub const SERVER_HOUR: f64 = 0.0725;
}

/// The cost of 1,000 calls of typical shape on AWS, from what one such call really used: an
/// assistant request, five knowledge tool calls, an order of three lines (each added and
/// confirmed) with fulfilment and checkout, and the end-of-call report (transcript to S3, the
/// order's text queued and sent). The calls run warm, as most do (each process served a call
/// before the counting starts); a cold start's init is reported beside.
#[test]
fn the_cost_of_a_thousand_calls_is_under_five_cents() {
    use serde_json::{Value, json};
    const LINE: &str = "+13125550160";
    const CALLS: usize = 4;
    let twilio = fake_twilio();
    let url = twilio.url();
    let aws = Aws::start(&[
        ("TwilioAccountSid", TWILIO_ACCOUNT),
        ("TwilioApiBase", url.as_str()),
    ]);
    let client = &aws.client;
    let pizza = hostline_test_support::fixtures::PIZZA;
    assert_eq!(client.import("windy", pizza).0, 201);
    client.as_admin(
        reqwest::Method::PATCH,
        "/api/v1/businesses/windy",
        json!({"active": true}),
    );
    let one_call = |n: usize| {
        let call = json!({"id": format!("cost-call-{n}"), "customer": {"number": "+13125550123"}});
        // The assistant request (its answer carries the tool credential).
        let headers = client.tool_headers(LINE);
        let headers: Vec<(&str, &str)> = headers
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let tool = |path: &str, id: &str, name: &str, args: Value| {
            let body = tool_call_message(ORDER_TIME, LINE, &call, id, name, args);
            let (status, v) = client.post(path, &headers, &body.to_string());
            assert_eq!(status, 200, "{name}: {v}");
            let said = v["results"][0]["result"]
                .as_str()
                .unwrap_or_default()
                .to_owned();
            assert!(!said.is_empty(), "{name}: {v}");
            said
        };
        for (i, (name, args)) in [
            ("get_hours_info", json!({})),
            ("get_menu_info", json!({"query": "deep dish pizza"})),
            ("get_modifiers_info", json!({"item": "pepperoni pizza"})),
            ("get_delivery_info", json!({"address_or_zip": "60647"})),
            ("search_faq", json!({"query": "do you have parking"})),
        ]
        .into_iter()
        .enumerate()
        {
            tool("/vapi/knowledge-base", &format!("k{i}"), name, args);
        }
        for (i, (item, modifiers)) in [
            ("pepperoni pizza", json!(["large"])),
            ("margherita pizza", json!(["small"])),
            ("garlic knots", json!([])),
        ]
        .into_iter()
        .enumerate()
        {
            tool(
                "/vapi/orders",
                &format!("a{i}"),
                "add_to_cart",
                json!({"item": item, "modifiers": modifiers}),
            );
            tool(
                "/vapi/orders",
                &format!("c{i}"),
                "confirm_pending_to_cart",
                json!({}),
            );
        }
        tool(
            "/vapi/orders",
            "f",
            "set_fulfillment",
            json!({"type": "pickup"}),
        );
        let said = tool("/vapi/orders", "x", "checkout_order", json!({}));
        assert!(said.contains('$'), "checkout: {said}");
        let report = json!({"message": {"type": "end-of-call-report", "endedReason": "customer-ended-call",
            "startedAt": "2026-12-05T00:00:00Z", "endedAt": "2026-12-05T00:03:00Z",
            "call": call, "customer": {"number": "+13125550123"}, "phoneNumber": {"number": LINE},
            "artifact": {"transcript": "AI: Windy City Slice, how can I help?\nUser: Two pizzas and garlic knots for pickup."}}});
        let (status, v) = client.post("/vapi/events", &headers, &report.to_string());
        assert_eq!(status, 200, "{v}");
    };
    one_call(0); // every process warm
    aws.local.reset_usage();
    for n in 1..=CALLS {
        one_call(n);
    }
    assert_eq!(
        twilio.received_at("/Messages.json").len(),
        CALLS + 1,
        "each order texted once"
    );

    let functions = aws.local.function_usage();
    let store = aws.local.aws_usage();
    let per_call = |x: f64| x / CALLS as f64;
    let invocations = per_call(functions.values().map(|u| u.invocations).sum::<u64>() as f64);
    let billed_ms = per_call(functions.values().map(|u| u.billed_ms).sum::<u64>() as f64);
    let gb = aws.local.memory_mb() as f64 / 1024.0;
    let lines = [
        ("Lambda requests", invocations * price::LAMBDA_REQUEST),
        (
            "Lambda duration",
            billed_ms / 1000.0 * gb * price::LAMBDA_GB_SECOND,
        ),
        ("HTTP API requests", invocations * price::HTTP_API_REQUEST),
        (
            "DynamoDB writes",
            per_call(store.write_units) * price::WRITE_UNIT,
        ),
        (
            "DynamoDB reads",
            per_call(store.read_units) * price::READ_UNIT,
        ),
        (
            "S3 requests",
            per_call(store.s3_class_a as f64) * price::S3_CLASS_A
                + per_call(store.s3_class_b as f64) * price::S3_CLASS_B,
        ),
        (
            "S3 storage (a month)",
            per_call(store.s3_bytes_in as f64) / 1e9 * price::S3_GB_MONTH,
        ),
    ];
    let total: f64 = lines.iter().map(|(_, c)| c).sum::<f64>() * 1000.0;
    println!("One call, averaged over {CALLS} warm calls:");
    println!(
        "  invocations {invocations:.1}, billed {billed_ms:.0} ms at {} MB",
        aws.local.memory_mb()
    );
    for (name, u) in &functions {
        println!(
            "  {name:<18} {:>5.1} invocations {:>7.1} ms  init {:?}  max RSS {} MiB",
            per_call(u.invocations as f64),
            per_call(u.billed_ms as f64),
            u.inits.first().map(|d| d.as_millis()),
            u.max_rss_kib / 1024
        );
    }
    println!(
        "  DynamoDB {:.1} write units, {:.1} read units ({:?} per {CALLS} calls); S3 {:.1} class A, {:.1} class B, {:.0} bytes in",
        per_call(store.write_units),
        per_call(store.read_units),
        store.dynamo_requests,
        per_call(store.s3_class_a as f64),
        per_call(store.s3_class_b as f64),
        per_call(store.s3_bytes_in as f64),
    );
    println!("Per 1,000 calls:");
    for (name, cost) in &lines {
        println!("  {name:<22} ${:.5}", cost * 1000.0);
    }
    println!("  {:<22} ${total:.4}", "total");
    let server_month = price::SERVER_HOUR * 730.0;
    for calls_a_month in [10_000.0, 100_000.0, 1_000_000.0] {
        println!(
            "  one always-on c7g.large (${server_month:.2} a month) at {calls_a_month} calls a month: ${:.4} per 1,000 calls",
            server_month / calls_a_month * 1000.0
        );
    }
    // What was counted is real work: a call stores its order and its log.
    assert!(invocations >= 15.0, "{invocations}");
    assert!(per_call(store.write_units) >= 5.0, "{store:?}");
    assert!(
        store.s3_class_a as usize >= CALLS,
        "a transcript per call: {store:?}"
    );
    assert!(
        total <= 0.05,
        "${total:.4} per 1,000 calls is over the $0.05 goal"
    );
}
