//! A record: the current value `_` plus named fields in order. Records
//! borrow from the input buffer (`'a`) while they flow through the per-record
//! operators and become owned (`'static`) only when a batch must keep them.

use std::borrow::Cow;

use crate::value::Value;

/// A field name; borrowed from the plan or the input where possible.
pub type Name<'a> = Cow<'a, str>;

/// A named field: its name and value.
pub type Field<'a> = (Name<'a>, Value<'a>);

/// The name of the current value.
pub const CURRENT: &str = "_";

/// A field's name as the output formats print it: `_` as `value`.
pub fn column_name(field: &str) -> &str {
    if field == CURRENT { "value" } else { field }
}

#[derive(Debug, Clone, Default)]
pub struct Record<'a> {
    /// The current value `_`; `None` once `fields` dropped it.
    pub value: Option<Value<'a>>,
    /// Named fields, in order of creation.
    pub fields: Vec<Field<'a>>,
    /// The raw input line the record came from (for `--event-time auto`);
    /// empty once the record is owned.
    pub raw: &'a str,
}

impl<'a> Record<'a> {
    /// A record for a raw input line: `_` is the line.
    pub fn from_line(line: Cow<'a, str>, raw: &'a str) -> Self {
        Record {
            value: Some(Value::text_of(line)),
            fields: Vec::new(),
            raw,
        }
    }

    /// A row made by an aggregation: named fields, no `_`.
    pub fn row(fields: Vec<(Name<'a>, Value<'a>)>) -> Self {
        Record {
            value: None,
            fields,
            raw: "",
        }
    }

    /// Looks a field up by its exact name (`_` included); see
    /// [`Record::lookup`] for dotted paths into JSON.
    pub fn get(&self, name: &str) -> Option<&Value<'a>> {
        if name == CURRENT {
            if let Some(v) = &self.value {
                return Some(v);
            }
        }
        self.fields.iter().find(|(n, _)| n == name).map(|(_, v)| v)
    }

    /// Like [`Record::get`] but also resolves dotted paths into JSON values,
    /// returning the nested value (owned when it comes out of JSON).
    pub fn lookup(&self, name: &str) -> Option<Cow<'_, Value<'a>>> {
        if let Some(v) = self.get(name) {
            return Some(Cow::Borrowed(v));
        }
        if !name.contains('.') {
            return None;
        }
        // The longest field name that is a dotted prefix of `name` wins, so
        // a field literally named `a.b` shadows a path into `a`.
        let mut cut = name.len();
        while let Some(i) = name[..cut].rfind('.') {
            let (head, rest) = (&name[..i], &name[i + 1..]);
            if let Some((_, Value::Json(j))) = self.fields.iter().find(|(n, _)| n == head) {
                return json_path(j, rest).map(|v| Cow::Owned(Value::from_json(v.clone())));
            }
            cut = i;
        }
        None
    }

    /// Sets a field (replacing one of the same name, else appending). `_`
    /// placed among the fields by `fields` stays in its place.
    pub fn set(&mut self, name: Name<'a>, value: Value<'a>) {
        if name == CURRENT
            && (self.value.is_some() || !self.fields.iter().any(|(n, _)| n == CURRENT))
        {
            self.value = Some(value);
            return;
        }
        match self.fields.iter_mut().find(|(n, _)| *n == name) {
            Some(slot) => slot.1 = value,
            None => self.fields.push((name, value)),
        }
    }

    /// Takes the current value `_` out of the record, wherever it is.
    pub fn take_current(&mut self) -> Option<Value<'a>> {
        if self.value.is_some() {
            return self.value.take();
        }
        let i = self.fields.iter().position(|(n, _)| n == CURRENT)?;
        Some(self.fields.remove(i).1)
    }

    /// A mutable reference to the field `name` (`_` included).
    pub fn get_mut(&mut self, name: &str) -> Option<&mut Value<'a>> {
        if name == CURRENT && self.value.is_some() {
            return self.value.as_mut();
        }
        self.fields
            .iter_mut()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v)
    }

    /// Every field in output order: `_` first (named `value`), then the
    /// named fields (`_` among them where `fields` placed it).
    pub fn columns(&self) -> impl Iterator<Item = (&str, &Value<'a>)> {
        self.value
            .iter()
            .map(|v| ("value", v))
            .chain(self.fields.iter().map(|(n, v)| (column_name(n), v)))
    }

    /// An owned copy made by taking the record's fields and value out,
    /// leaving the record empty with its field list's allocation.
    pub fn take_owned(&mut self) -> Record<'static> {
        Record {
            value: self.value.take().map(Value::into_owned),
            fields: self
                .fields
                .drain(..)
                .map(|(n, v)| (Cow::Owned(n.into_owned()), v.into_owned()))
                .collect(),
            raw: "",
        }
    }

    pub fn into_owned(mut self) -> Record<'static> {
        self.take_owned()
    }
}

/// Follows `a.b.c` (and array indexes `items.0`) into a JSON value.
pub fn json_path<'j>(mut v: &'j serde_json::Value, path: &str) -> Option<&'j serde_json::Value> {
    for part in path.split('.') {
        v = match v {
            serde_json::Value::Object(m) => m.get(part)?,
            serde_json::Value::Array(a) => a.get(part.parse::<usize>().ok()?)?,
            _ => return None,
        };
    }
    Some(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_lookup_reaches_into_json() {
        let j: serde_json::Value = serde_json::json!({"id": 7, "tags": ["a", "b"]});
        let mut r = Record::from_line(Cow::Borrowed("line"), "line");
        r.set(Cow::Borrowed("user"), Value::Json(Box::new(j)));
        assert_eq!(
            r.lookup("user.id").map(|v| v.text().into_owned()),
            Some("7".into())
        );
        assert_eq!(
            r.lookup("user.tags.1").map(|v| v.text().into_owned()),
            Some("b".into())
        );
        assert!(r.lookup("user.nope").is_none());
        assert_eq!(
            r.lookup("_").map(|v| v.text().into_owned()),
            Some("line".into())
        );
    }

    #[test]
    fn record_columns_name_current_value() {
        let mut r = Record::from_line(Cow::Borrowed("x"), "x");
        r.set(Cow::Borrowed("a"), Value::Int(1));
        let names: Vec<&str> = r.columns().map(|(n, _)| n).collect();
        assert_eq!(names, ["value", "a"]);
    }
}
