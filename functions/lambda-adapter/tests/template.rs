//! template.yaml (AWS SAM) against spin.toml: the same functions, on the same routes, with the
//! same variables. spin.toml is where routes and variables are added first; this test fails
//! until template.yaml says the same, naming each difference.

mod support;

use std::collections::BTreeSet;
use support::template::{self, repo_file};

/// What a manifest says about one function.
#[derive(Debug, Default, PartialEq, Eq)]
struct Functions {
    /// (HTTP API path, component)
    routes: BTreeSet<(String, String)>,
    /// (component, environment variable)
    variables: BTreeSet<(String, String)>,
}

/// spin.toml's routes, written as HTTP API paths (`/x/...` is `/x/{proxy+}` and `/x`), and each
/// component's variables, in upper case as Lambda's environment has them.
fn from_spin(text: &str) -> Functions {
    let doc: toml::Table = toml::from_str(text).expect("spin.toml parses");
    let mut out = Functions::default();
    let triggers = doc["trigger"]["http"].as_array().expect("[[trigger.http]]");
    for t in triggers {
        let route = t["route"].as_str().expect("route");
        let component = t["component"].as_str().expect("component");
        // Spin's `/x/...` matches `/x` itself too; an HTTP API's greedy `/x/{proxy+}` needs a
        // segment after the prefix, so the template routes both (`POST /api/v1/onboarding`
        // starts the wizard).
        match route.strip_suffix("/...") {
            Some(base) => {
                out.routes
                    .insert((format!("{base}/{{proxy+}}"), component.to_owned()));
                out.routes.insert((base.to_owned(), component.to_owned()));
            }
            None => {
                out.routes.insert((route.to_owned(), component.to_owned()));
            }
        }
    }
    let components = doc["component"].as_table().expect("[component.*]");
    for (name, c) in components {
        if let Some(vars) = c.get("variables").and_then(|v| v.as_table()) {
            for var in vars.keys() {
                out.variables
                    .insert((name.clone(), var.to_ascii_uppercase()));
            }
        }
    }
    out
}

/// template.yaml's functions: each one's `Binary` is its spin.toml component. Environment
/// variables set for every function (Globals) belong to no component and are not compared.
fn from_template(text: &str) -> (Functions, Vec<String>) {
    let sam = template::parse(text);
    let mut out = Functions::default();
    let mut problems = sam.problems;
    for f in &sam.functions {
        for path in &f.paths {
            out.routes.insert((path.clone(), f.binary.clone()));
        }
        for (var, param) in &f.env {
            out.variables.insert((f.binary.clone(), var.clone()));
            // Each variable comes from a parameter of the template.
            if !param
                .as_ref()
                .is_some_and(|p| sam.parameters.contains_key(p))
            {
                problems.push(format!("{}: {var} is not a !Ref to a parameter", f.id));
            }
        }
    }
    (out, problems)
}

/// Every way the two manifests disagree, for the failure message.
fn differences(spin: &str, template: &str) -> Vec<String> {
    let spin = from_spin(spin);
    let (sam, mut out) = from_template(template);
    for (path, c) in spin.routes.difference(&sam.routes) {
        out.push(format!(
            "spin.toml routes {path} to {c}; template.yaml does not"
        ));
    }
    for (path, c) in sam.routes.difference(&spin.routes) {
        out.push(format!(
            "template.yaml routes {path} to {c}; spin.toml does not"
        ));
    }
    for (c, v) in spin.variables.difference(&sam.variables) {
        out.push(format!(
            "{c} has variable {v} in spin.toml, not in template.yaml"
        ));
    }
    for (c, v) in sam.variables.difference(&spin.variables) {
        out.push(format!(
            "{c} has variable {v} in template.yaml, not in spin.toml"
        ));
    }
    out
}

#[test]
fn template_serves_the_routes_and_variables_of_spin_toml() {
    let found = differences(&repo_file("spin.toml"), &repo_file("template.yaml"));
    assert!(
        found.is_empty(),
        "template.yaml and spin.toml differ:\n  {}",
        found.join("\n  ")
    );
}

#[test]
fn the_check_sees_a_route_or_variable_missing_from_the_template() {
    let spin = repo_file("spin.toml");
    let template = repo_file("template.yaml");
    let more = format!(
        "{spin}\n[[trigger.http]]\nroute = \"/vapi/new-tool/...\"\ncomponent = \"orders\"\n"
    );
    assert_eq!(
        differences(&more, &template),
        [
            "spin.toml routes /vapi/new-tool to orders; template.yaml does not",
            "spin.toml routes /vapi/new-tool/{proxy+} to orders; template.yaml does not"
        ]
    );
    let fewer = template.replacen("          JWT_KEY: !Ref JwtKey\n", "", 1);
    assert_ne!(fewer, template, "the template sets JWT_KEY somewhere");
    assert_eq!(differences(&spin, &fewer).len(), 1, "one variable missing");
    let unset = template.replacen("JWT_KEY: !Ref JwtKey", "JWT_KEY: !Ref NoSuchParameter", 1);
    assert_eq!(
        differences(&spin, &unset).len(),
        1,
        "a variable from no parameter"
    );
    let moved = template.replacen("Path: \"/vapi/orders\"", "Path: \"/vapi/order\"", 1);
    assert_eq!(
        differences(&spin, &moved).len(),
        2,
        "a route moved: one gone, one new"
    );
}

/// Every name a `!Ref`, `!GetAtt` or `!Sub` in `text` uses that the template does not define
/// (cfn-lint does not look inside a SAM function's `Policies`).
fn undefined_names(text: &str) -> Vec<String> {
    use serde_yaml_ng::Value as Yaml;
    let doc: Yaml = serde_yaml_ng::from_str(text).expect("template.yaml parses");
    let mut defined: BTreeSet<String> = ["Parameters", "Resources", "Conditions"]
        .iter()
        .flat_map(|section| doc[*section].as_mapping().into_iter().flatten())
        .filter_map(|(k, _)| k.as_str().map(str::to_owned))
        .collect();
    defined.extend(
        [
            "AWS::NoValue",
            "AWS::Region",
            "AWS::AccountId",
            "AWS::Partition",
            "AWS::URLSuffix",
            "AWS::StackName",
        ]
        .map(str::to_owned),
    );
    fn walk(v: &Yaml, out: &mut Vec<String>) {
        match v {
            Yaml::Tagged(t) => {
                match (t.tag.to_string().trim_start_matches('!'), &t.value) {
                    ("Ref", Yaml::String(name)) => out.push(name.clone()),
                    ("GetAtt", Yaml::String(name)) => {
                        out.push(name.split('.').next().unwrap_or(name).to_owned())
                    }
                    ("Sub", Yaml::String(text)) => {
                        let mut rest = text.as_str();
                        while let Some(at) = rest.find("${") {
                            let end = rest[at..].find('}').map_or(rest.len(), |e| at + e);
                            let name = &rest[at + 2..end];
                            out.push(name.split('.').next().unwrap_or(name).to_owned());
                            rest = &rest[(end + 1).min(rest.len())..];
                        }
                    }
                    _ => {}
                }
                walk(&t.value, out);
            }
            Yaml::Sequence(items) => items.iter().for_each(|i| walk(i, out)),
            Yaml::Mapping(m) => m.iter().for_each(|(_, v)| walk(v, out)),
            _ => {}
        }
    }
    let mut used = Vec::new();
    walk(&doc, &mut used);
    used.retain(|n| !defined.contains(n));
    used
}

#[test]
fn every_name_the_template_refers_to_is_defined() {
    let template = repo_file("template.yaml");
    assert_eq!(undefined_names(&template), Vec::<String>::new());
    let broken = template.replacen("!Ref SecretsRead,", "!Ref SecretsReadX,", 1);
    assert_eq!(undefined_names(&broken), ["SecretsReadX"]);
}

#[test]
fn every_function_with_settings_may_read_the_secrets_path() {
    let sam = template::parse(&repo_file("template.yaml"));
    let text = repo_file("template.yaml");
    let doc: serde_yaml_ng::Value = serde_yaml_ng::from_str(&text).unwrap();
    for f in sam.functions.iter().filter(|f| !f.env.is_empty()) {
        let policies = format!(
            "{:?}",
            doc["Resources"][f.id.as_str()]["Properties"]["Policies"]
        );
        assert!(
            policies.contains("SecretsRead"),
            "{} has settings but cannot read SecretsPath",
            f.id
        );
    }
}
