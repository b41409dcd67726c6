//! The `kafka://` address: brokers, topics and the query options
//! `group=`, `from=` and `until=`, checked before anything is read (a
//! malformed one is bad usage, with what to type instead).

use std::fmt;

use crate::source::tcp::check_addr;

/// Where to start a partition the group has no offset for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Start {
    Earliest,
    Latest,
}

/// A parsed `kafka://` address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KafkaUrl {
    pub brokers: Vec<String>,
    pub topics: Vec<String>,
    pub group: Option<String>,
    pub from: Start,
    pub until_now: bool,
}

/// A malformed `kafka://` address: bad usage, exit 2.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UrlError(pub String);

impl fmt::Display for UrlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for UrlError {}

const FORM: &str =
    "kafka://HOST:PORT[,HOST:PORT...]/TOPIC[,TOPIC...][?group=NAME&from=earliest|latest&until=now]";
const KEYS: [&str; 3] = ["group", "from", "until"];

impl KafkaUrl {
    /// Parses `kafka://...` (the whole input argument).
    pub fn parse(src: &str) -> Result<KafkaUrl, UrlError> {
        let bad = |why: String| UrlError(format!("{src}: {why} (expected {FORM})"));
        let rest = src
            .strip_prefix("kafka://")
            .ok_or_else(|| bad("not a kafka:// address".into()))?;
        let (brokers, rest) = rest
            .split_once('/')
            .ok_or_else(|| bad("no topic: add /TOPIC after the brokers".into()))?;
        let (topics, query) = match rest.split_once('?') {
            Some((t, q)) => (t, Some(q)),
            None => (rest, None),
        };
        let brokers: Vec<String> = brokers.split(',').map(str::to_string).collect();
        for b in &brokers {
            check_addr(b).map_err(|e| bad(format!("broker: {e}")))?;
        }
        let topics: Vec<String> = topics.split(',').map(str::to_string).collect();
        for t in &topics {
            check_topic(t).map_err(bad)?;
        }
        let mut url = KafkaUrl {
            brokers,
            topics,
            group: None,
            from: Start::Earliest,
            until_now: false,
        };
        let mut seen: Vec<&str> = Vec::new();
        for pair in query.into_iter().flat_map(|q| q.split('&')) {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            if seen.contains(&key) {
                return Err(bad(format!("'{key}=' is given twice")));
            }
            seen.push(key);
            match key {
                "group" if !value.is_empty() => url.group = Some(value.to_string()),
                "group" => return Err(bad("group= needs a name".into())),
                "from" => {
                    url.from = match value {
                        "earliest" => Start::Earliest,
                        "latest" => Start::Latest,
                        _ => {
                            return Err(bad(format!(
                                "from={value}: expected from=earliest or from=latest"
                            )));
                        }
                    }
                }
                "until" if value == "now" => url.until_now = true,
                "until" => return Err(bad(format!("until={value}: the only value is until=now"))),
                _ => {
                    let hint = match crate::suggest::closest(key, KEYS) {
                        Some(k) => format!("; did you mean '{k}='?"),
                        None => String::new(),
                    };
                    return Err(bad(format!(
                        "unknown option '{key}' (the options are group=, from= and until=){hint}"
                    )));
                }
            }
        }
        Ok(url)
    }
}

/// Kafka's rule for topic names.
fn check_topic(t: &str) -> Result<(), String> {
    if t.is_empty() {
        return Err("an empty topic name".into());
    }
    if t.len() > 249 || t == "." || t == ".." {
        return Err(format!("'{t}' is not a valid topic name"));
    }
    if let Some(c) = t
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')))
    {
        return Err(format!(
            "topic '{t}': '{c}' is not allowed in a topic name (letters, digits, '.', '_' and '-' are)"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kafka_url_parses_brokers_topics_and_options() {
        let u =
            KafkaUrl::parse("kafka://a:9092,b:9093/logs,metrics?group=g1&from=latest&until=now")
                .unwrap();
        assert_eq!(u.brokers, ["a:9092", "b:9093"]);
        assert_eq!(u.topics, ["logs", "metrics"]);
        assert_eq!(u.group.as_deref(), Some("g1"));
        assert_eq!(u.from, Start::Latest);
        assert!(u.until_now);
        let u = KafkaUrl::parse("kafka://127.0.0.1:9092/t").unwrap();
        assert_eq!(
            (u.group, u.from, u.until_now),
            (None, Start::Earliest, false)
        );
    }

    #[test]
    fn kafka_url_malformed_is_a_usage_error_saying_why() {
        for (src, says) in [
            ("kafka://127.0.0.1:9092", "no topic"),
            ("kafka://127.0.0.1/t", "HOST:PORT"),
            ("kafka://:9092/t", "HOST:PORT"),
            ("kafka://h:1,/t", "HOST:PORT"),
            ("kafka://h:1/", "empty topic"),
            ("kafka://h:1/a,,b", "empty topic"),
            ("kafka://h:1/a b", "not allowed"),
            ("kafka://h:1/t?grop=x", "did you mean 'group='"),
            ("kafka://h:1/t?group=", "needs a name"),
            ("kafka://h:1/t?from=start", "from=earliest"),
            ("kafka://h:1/t?until=later", "until=now"),
            ("kafka://h:1/t?from=latest&from=earliest", "twice"),
            ("kafka://h:1/t?offset=5", "unknown option 'offset'"),
        ] {
            let e = KafkaUrl::parse(src).expect_err(src);
            assert!(e.0.contains(says), "{src}: {e}");
            assert!(e.0.contains("expected kafka://"), "{src}: {e}");
        }
    }
}
