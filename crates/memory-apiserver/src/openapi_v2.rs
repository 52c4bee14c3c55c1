//! `/openapi/v2`, which real API servers serve as protobuf only.
//!
//! kubectl validates a `kind: List` on the client against this document
//! (the per-kind `fieldValidation` check of `/openapi/v3` does not apply to
//! `List`), so without it `kubectl create -f list.yaml` fails before sending
//! anything. The messages are the subset of gnostic's `openapi_v2` proto
//! (`OpenAPIv2.proto`, field numbers as published) that carries definitions;
//! prost encodes them.

use serde_json::{Map, Value};

#[derive(Clone, PartialEq, prost::Message)]
pub struct Document {
    #[prost(string, tag = "1")]
    pub swagger: String,
    #[prost(message, optional, tag = "2")]
    pub info: Option<Info>,
    #[prost(message, optional, tag = "9")]
    pub definitions: Option<Definitions>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct Info {
    #[prost(string, tag = "1")]
    pub title: String,
    #[prost(string, tag = "2")]
    pub version: String,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct Definitions {
    #[prost(message, repeated, tag = "1")]
    pub additional_properties: Vec<NamedSchema>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct NamedSchema {
    #[prost(string, tag = "1")]
    pub name: String,
    #[prost(message, optional, tag = "2")]
    pub value: Option<Schema>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct Schema {
    #[prost(string, tag = "1")]
    pub xref: String,
    #[prost(string, tag = "2")]
    pub format: String,
    #[prost(string, tag = "4")]
    pub description: String,
    #[prost(message, optional, tag = "5")]
    pub default: Option<Any>,
    #[prost(double, tag = "7")]
    pub maximum: f64,
    #[prost(double, tag = "9")]
    pub minimum: f64,
    #[prost(int64, tag = "11")]
    pub max_length: i64,
    #[prost(int64, tag = "12")]
    pub min_length: i64,
    #[prost(string, tag = "13")]
    pub pattern: String,
    #[prost(int64, tag = "14")]
    pub max_items: i64,
    #[prost(int64, tag = "15")]
    pub min_items: i64,
    #[prost(string, repeated, tag = "19")]
    pub required: Vec<String>,
    #[prost(message, repeated, tag = "20")]
    pub r#enum: Vec<Any>,
    #[prost(message, optional, tag = "21")]
    pub additional_properties: Option<AdditionalPropertiesItem>,
    #[prost(message, optional, tag = "22")]
    pub r#type: Option<TypeItem>,
    #[prost(message, optional, tag = "23")]
    pub items: Option<ItemsItem>,
    #[prost(message, optional, tag = "25")]
    pub properties: Option<Properties>,
    #[prost(message, repeated, tag = "31")]
    pub vendor_extension: Vec<NamedAny>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct AdditionalPropertiesItem {
    #[prost(oneof = "Additional", tags = "1, 2")]
    pub oneof: Option<Additional>,
}

#[derive(Clone, PartialEq, prost::Oneof)]
pub enum Additional {
    #[prost(message, boxed, tag = "1")]
    Schema(Box<Schema>),
    #[prost(bool, tag = "2")]
    Boolean(bool),
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct TypeItem {
    #[prost(string, repeated, tag = "1")]
    pub value: Vec<String>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct ItemsItem {
    #[prost(message, repeated, tag = "1")]
    pub schema: Vec<Schema>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct Properties {
    #[prost(message, repeated, tag = "1")]
    pub additional_properties: Vec<NamedSchema>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct NamedAny {
    #[prost(string, tag = "1")]
    pub name: String,
    #[prost(message, optional, tag = "2")]
    pub value: Option<Any>,
}

/// A value as YAML text (JSON is YAML), as gnostic carries extensions.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Any {
    #[prost(string, tag = "2")]
    pub yaml: String,
}

/// The protobuf document for these JSON-Schema definitions (refs pointing
/// at `#/components/schemas/`, siblings of `$ref` allowed, as in Swagger 2).
pub fn document(definitions: &Map<String, Value>) -> Vec<u8> {
    let doc = Document {
        swagger: "2.0".into(),
        info: Some(Info { title: "Kubernetes".into(), version: "v1.36.0-fake".into() }),
        definitions: Some(Definitions { additional_properties: named(definitions) }),
    };
    prost::Message::encode_to_vec(&doc)
}

fn named(map: &Map<String, Value>) -> Vec<NamedSchema> {
    map.iter().map(|(name, v)| NamedSchema { name: name.clone(), value: Some(schema(v)) }).collect()
}

fn any(v: &Value) -> Any {
    Any { yaml: v.to_string() }
}

fn schema(v: &Value) -> Schema {
    let str = |k: &str| v.get(k).and_then(Value::as_str).unwrap_or_default().to_string();
    let int = |k: &str| v.get(k).and_then(Value::as_i64).unwrap_or_default();
    let float = |k: &str| v.get(k).and_then(Value::as_f64).unwrap_or_default();
    let additional = v.get("additionalProperties").map(|a| AdditionalPropertiesItem {
        oneof: Some(match a {
            Value::Bool(b) => Additional::Boolean(*b),
            other => Additional::Schema(Box::new(schema(other))),
        }),
    });
    Schema {
        xref: str("$ref").replace("#/components/schemas/", "#/definitions/"),
        format: str("format"),
        description: str("description"),
        default: v.get("default").map(any),
        maximum: float("maximum"),
        minimum: float("minimum"),
        max_length: int("maxLength"),
        min_length: int("minLength"),
        pattern: str("pattern"),
        max_items: int("maxItems"),
        min_items: int("minItems"),
        required: v
            .get("required")
            .and_then(Value::as_array)
            .map(|r| r.iter().filter_map(Value::as_str).map(String::from).collect())
            .unwrap_or_default(),
        r#enum: v.get("enum").and_then(Value::as_array).map(|e| e.iter().map(any).collect()).unwrap_or_default(),
        additional_properties: additional,
        r#type: v.get("type").and_then(Value::as_str).map(|t| TypeItem { value: vec![t.to_string()] }),
        items: v.get("items").map(|i| ItemsItem { schema: vec![schema(i)] }),
        properties: v
            .get("properties")
            .and_then(Value::as_object)
            .map(|p| Properties { additional_properties: named(p) }),
        vendor_extension: v
            .as_object()
            .into_iter()
            .flatten()
            .filter(|(k, _)| k.starts_with("x-"))
            .map(|(k, x)| NamedAny { name: k.clone(), value: Some(any(x)) })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use prost::Message;
    use serde_json::json;

    #[test]
    fn definitions_survive_the_encoding() {
        let defs = json!({
            "io.k8s.api.rbac.v1.RoleRef": {
                "type": "object",
                "required": ["kind"],
                "properties": {
                    "kind": {"type": "string", "enum": ["Role"]},
                    "meta": {"$ref": "#/components/schemas/X", "description": "d"},
                    "labels": {"type": "object", "additionalProperties": {"type": "string"}},
                },
                "x-kubernetes-map-type": "atomic",
            }
        });
        let doc = Document::decode(document(defs.as_object().unwrap()).as_slice()).unwrap();
        let def = &doc.definitions.unwrap().additional_properties[0];
        let s = def.value.as_ref().unwrap();
        assert_eq!(
            (def.name.as_str(), s.required.as_slice()),
            ("io.k8s.api.rbac.v1.RoleRef", &["kind".to_string()][..])
        );
        assert_eq!(s.vendor_extension[0].value.as_ref().unwrap().yaml, "\"atomic\"");
        let props = &s.properties.as_ref().unwrap().additional_properties;
        let meta = props.iter().find(|p| p.name == "meta").unwrap().value.as_ref().unwrap();
        assert_eq!((meta.xref.as_str(), meta.description.as_str()), ("#/definitions/X", "d"));
        let labels = props.iter().find(|p| p.name == "labels").unwrap().value.as_ref().unwrap();
        let Some(Additional::Schema(inner)) = labels.additional_properties.as_ref().unwrap().oneof.as_ref() else {
            panic!("additionalProperties is a schema")
        };
        assert_eq!(inner.r#type.as_ref().unwrap().value, ["string"]);
    }
}
