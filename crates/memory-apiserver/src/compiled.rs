//! Compiled CEL programs, schemas and regexes, kept by their source text.
//! The API server compiles a CRD's rules and an admission policy once, when
//! they are written; compiling them on every request made the fake, not the
//! code under test, the bottleneck of every benchmark.

use std::{
    collections::HashMap,
    sync::{Arc, LazyLock, Mutex},
};

use kube::core::cel::{CompiledSchema, cel::Program, compile_schema};
use serde_json::Value;

struct Cache<T>(LazyLock<Mutex<HashMap<String, Arc<T>>>>);

impl<T> Cache<T> {
    const fn new() -> Self {
        Self(LazyLock::new(Mutex::default))
    }

    fn get(&self, key: &str, make: impl FnOnce() -> T) -> Arc<T> {
        if let Some(found) = self.0.lock().unwrap_or_else(|p| p.into_inner()).get(key) {
            return found.clone();
        }
        // Compiled outside the lock; a racing duplicate is harmless.
        let made = Arc::new(make());
        self.0.lock().unwrap_or_else(|p| p.into_inner()).insert(key.to_string(), made.clone());
        made
    }
}

static PROGRAMS: Cache<Result<Program, String>> = Cache::new();
static SCHEMAS: Cache<CompiledSchema> = Cache::new();
static REGEXES: Cache<Option<regex::Regex>> = Cache::new();

pub fn program(expression: &str) -> Arc<Result<Program, String>> {
    PROGRAMS.get(expression, || Program::compile(expression).map_err(|e| format!("compilation failed: {e}")))
}

pub fn schema(schema: &Value) -> Arc<CompiledSchema> {
    SCHEMAS.get(&schema.to_string(), || compile_schema(schema))
}

pub fn regex(pattern: &str) -> Arc<Option<regex::Regex>> {
    REGEXES.get(pattern, || regex::Regex::new(pattern).ok())
}
