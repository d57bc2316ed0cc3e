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

/// spin.toml's routes, written as HTTP API paths (`/x/...` is `/x/{proxy+}`), and each
/// component's variables, in upper case as Lambda's environment has them.
fn from_spin(text: &str) -> Functions {
    let doc: toml::Table = toml::from_str(text).expect("spin.toml parses");
    let mut out = Functions::default();
    let triggers = doc["trigger"]["http"].as_array().expect("[[trigger.http]]");
    for t in triggers {
        let route = t["route"].as_str().expect("route");
        let component = t["component"].as_str().expect("component");
        let path = match route.strip_suffix("/...") {
            Some(base) => format!("{base}/{{proxy+}}"),
            None => route.to_owned(),
        };
        out.routes.insert((path, component.to_owned()));
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
        ["spin.toml routes /vapi/new-tool/{proxy+} to orders; template.yaml does not"]
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
