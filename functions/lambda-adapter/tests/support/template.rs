//! template.yaml (AWS SAM) read as the tests need it: each function's binary, HTTP API paths
//! and environment (each value a `!Ref` to a parameter or resource), the Globals environment,
//! and the parameters' defaults.

use serde_yaml_ng::Value as Yaml;
use std::collections::BTreeMap;
use std::path::PathBuf;

/// A file at the repo's root.
pub fn repo_file(name: &str) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
}

/// One `AWS::Serverless::Function`.
#[derive(Debug, Clone)]
pub struct SamFunction {
    pub id: String,
    /// Its `Metadata.BuildProperties.Binary`: the spin.toml component and the binary's name.
    pub binary: String,
    /// Its HttpApi events' paths.
    pub paths: Vec<String>,
    /// (variable, the name its `!Ref` names); `None` for a value that is not a `!Ref`.
    pub env: Vec<(String, Option<String>)>,
    /// Its `Policies`: SAM policy template names (`DynamoDBCrudPolicy`), and the managed
    /// policies it `!Ref`s (under a condition or not).
    pub policies: Vec<String>,
}

#[derive(Debug, Clone, Default)]
pub struct Sam {
    pub functions: Vec<SamFunction>,
    /// Globals.Function.Environment: (variable, referenced resource or parameter).
    pub global_env: Vec<(String, Option<String>)>,
    /// Every parameter, with its default if it has one.
    pub parameters: BTreeMap<String, Option<String>>,
    /// Globals.Function.MemorySize, in MB.
    pub memory_mb: u64,
    /// What is malformed: a function without a binary, an event that is not `ANY` on the
    /// HTTP API, an event without a path.
    pub problems: Vec<String>,
}

fn reference(value: &Yaml) -> Option<String> {
    match value {
        Yaml::Tagged(t) if t.tag == "Ref" => t.value.as_str().map(str::to_owned),
        _ => None,
    }
}

fn environment(vars: &Yaml) -> Vec<(String, Option<String>)> {
    vars.as_mapping()
        .into_iter()
        .flatten()
        .map(|(k, v)| (k.as_str().unwrap_or("?").to_owned(), reference(v)))
        .collect()
}

pub fn parse(text: &str) -> Sam {
    let doc: Yaml = serde_yaml_ng::from_str(text).expect("template.yaml parses");
    let mut sam = Sam {
        global_env: environment(&doc["Globals"]["Function"]["Environment"]["Variables"]),
        memory_mb: doc["Globals"]["Function"]["MemorySize"]
            .as_u64()
            .unwrap_or(128),
        ..Sam::default()
    };
    for (name, p) in doc["Parameters"].as_mapping().expect("Parameters") {
        let default = match &p["Default"] {
            Yaml::String(s) => Some(s.clone()),
            Yaml::Number(n) => Some(n.to_string()),
            _ => None,
        };
        sam.parameters
            .insert(name.as_str().unwrap_or("?").to_owned(), default);
    }
    for (id, r) in doc["Resources"].as_mapping().expect("Resources") {
        if r["Type"].as_str() != Some("AWS::Serverless::Function") {
            continue;
        }
        let id = id.as_str().unwrap_or("?").to_owned();
        let Some(binary) = r["Metadata"]["BuildProperties"]["Binary"].as_str() else {
            sam.problems.push(format!("{id} names no Binary"));
            continue;
        };
        let mut paths = Vec::new();
        for (name, e) in r["Properties"]["Events"].as_mapping().into_iter().flatten() {
            let name = name.as_str().unwrap_or("?");
            let p = &e["Properties"];
            if e["Type"].as_str() != Some("HttpApi") || p["Method"].as_str() != Some("ANY") {
                sam.problems
                    .push(format!("{id}.{name}: not an HttpApi event for ANY method"));
            }
            match p["Path"].as_str() {
                Some(path) => paths.push(path.to_owned()),
                None => sam.problems.push(format!("{id}.{name}: no Path")),
            }
        }
        let mut policies = Vec::new();
        for p in r["Properties"]["Policies"]
            .as_sequence()
            .into_iter()
            .flatten()
        {
            match p {
                Yaml::Mapping(m) => {
                    policies.extend(m.keys().filter_map(|k| k.as_str()).map(str::to_owned))
                }
                Yaml::String(name) => policies.push(name.clone()),
                // `!If [condition, !Ref Policy, !Ref AWS::NoValue]` or a plain `!Ref Policy`.
                Yaml::Tagged(t) => {
                    let refs: Vec<&Yaml> = match &t.value {
                        Yaml::Sequence(items) => items.iter().skip(1).collect(),
                        other => vec![other],
                    };
                    policies.extend(
                        refs.into_iter()
                            .chain(std::iter::once(p))
                            .filter_map(reference)
                            .filter(|r| r != "AWS::NoValue"),
                    );
                }
                _ => {}
            }
        }
        sam.functions.push(SamFunction {
            id,
            binary: binary.to_owned(),
            paths,
            env: environment(&r["Properties"]["Environment"]["Variables"]),
            policies,
        });
    }
    sam
}
