//! What the AWS tests share: the emulator, template.yaml as data, and the collection run
//! locally the way Lambda runs it. Not every test file uses all of it.
#![allow(dead_code)]

pub mod local_lambda;
pub mod moto;
pub mod template;
