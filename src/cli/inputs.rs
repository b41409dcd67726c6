//! The `-i` inputs as written, checked for their form before anything is
//! opened or read: a malformed `tcp://`, `listen://` or `kafka://` address,
//! or a scheme spate does not read (`http://`), is bad usage (exit 2) that
//! says what to write instead. Opening and reading them is the sources'.

use crate::plan::UsageError;

/// The schemes spate reads, for the error and the did-you-mean.
const SCHEMES: [&str; 3] = ["tcp", "listen", "kafka"];

const FORMS: &str =
    "inputs are -, a file, tcp://HOST:PORT, listen://ADDR:PORT or kafka://HOST:PORT/TOPIC";

/// Kafka's own rule for a topic's name.
const TOPIC_MAX: usize = 249;

/// Checks every input's form, in the order given.
pub fn check_all(inputs: &[String]) -> Result<(), UsageError> {
    inputs.iter().try_for_each(|s| check(s))
}

/// Checks one input's form; a path (no `SCHEME://`) is the sources' to
/// open.
pub fn check(src: &str) -> Result<(), UsageError> {
    let Some((scheme, rest)) = src.split_once("://") else {
        return Ok(());
    };
    let is_scheme = scheme.starts_with(|c: char| c.is_ascii_alphabetic())
        && scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "+.-".contains(c));
    if !is_scheme {
        return Ok(());
    }
    let bad =
        |what: String, hint: String| UsageError::global(format!("-i {src}: {what}")).hint(hint);
    match scheme {
        "tcp" => host_port(rest, false).map_err(|what| {
            bad(
                what,
                "write tcp://HOST:PORT, such as tcp://127.0.0.1:9999".into(),
            )
        }),
        "listen" => host_port(rest, true).map_err(|what| {
            // the port given, when it is one; else an example
            let port = rest
                .rsplit_once(':')
                .map(|(_, p)| p)
                .filter(|p| p.parse::<u16>().is_ok_and(|n| n > 0))
                .unwrap_or("9999");
            bad(
                what,
                format!(
                    "write listen://ADDR:PORT: listen://127.0.0.1:{port} for this host only, \
                     listen://0.0.0.0:{port} for every interface"
                ),
            )
        }),
        "kafka" => kafka(rest).map_err(|what| {
            bad(
                what,
                "write kafka://HOST:PORT[,HOST:PORT...]/TOPIC[,TOPIC...], optionally with \
                 ?group=NAME&from=earliest|latest&until=now"
                    .into(),
            )
        }),
        other => {
            let hint = match misspelt_scheme(&other.to_ascii_lowercase()) {
                Some(s) => format!("did you mean '{s}://'? ({FORMS})"),
                None => FORMS.to_string(),
            };
            Err(
                UsageError::global(format!("-i {src}: spate does not read '{other}://'"))
                    .hint(hint),
            )
        }
    }
}

/// The scheme `s` is a typo of: one letter off, or two swapped (`tpc`);
/// `http` is no typo of `tcp`.
fn misspelt_scheme(s: &str) -> Option<&'static str> {
    let letters = |w: &str| {
        let mut v: Vec<char> = w.chars().collect();
        v.sort_unstable();
        v
    };
    SCHEMES
        .into_iter()
        .find(|k| crate::suggest::distance(s, k) <= 1 || letters(s) == letters(k))
}

/// `HOST:PORT` (`[::1]:9999` included). `listen`: ADDR is required (no
/// `:9912`) and port 0 (any free port) is allowed.
fn host_port(s: &str, listen: bool) -> Result<(), String> {
    let what = if listen { "address" } else { "host" };
    if s.is_empty() {
        return Err(format!("the {what} and the port are missing"));
    }
    if let Some(c) = s.chars().find(|c| "/?#@ ".contains(*c)) {
        return Err(format!(
            "'{c}' has no place in {}:PORT",
            what.to_uppercase()
        ));
    }
    let (host, port) = match s.rsplit_once(':') {
        // `[::1]` alone: the colons are the address's
        Some((h, p)) if !(s.starts_with('[') && s.ends_with(']')) => (h, p),
        _ => return Err("the port is missing".into()),
    };
    if host.is_empty() {
        return Err(if listen {
            "the address is missing (ADDR is required, so that spate never listens on every interface unless told to)".into()
        } else {
            "the host is missing".into()
        });
    }
    if host.starts_with('[') != host.ends_with(']')
        || (host.contains(':') && !host.starts_with('['))
    {
        return Err(format!(
            "'{host}' is not a host: write an IPv6 address in brackets, such as [::1]"
        ));
    }
    port_number(port, listen)
}

fn port_number(p: &str, zero: bool) -> Result<(), String> {
    match p.parse::<u16>() {
        Ok(0) if !zero => Err("port 0 is no port to connect to".into()),
        Ok(_) if p.chars().all(|c| c.is_ascii_digit()) => Ok(()),
        _ if p.is_empty() => Err("the port is missing".into()),
        _ => Err(format!("'{p}' is not a port (1 to 65535)")),
    }
}

/// `HOST:PORT[,HOST:PORT...]/TOPIC[,TOPIC...][?QUERY]`.
fn kafka(s: &str) -> Result<(), String> {
    let (addr, query) = match s.split_once('?') {
        Some((a, q)) => (a, Some(q)),
        None => (s, None),
    };
    let Some((brokers, topics)) = addr.split_once('/') else {
        return Err("the topic is missing".into());
    };
    if brokers.is_empty() {
        return Err("the broker is missing".into());
    }
    for b in brokers.split(',') {
        host_port(b, false).map_err(|e| format!("broker '{b}': {e}"))?;
    }
    if topics.is_empty() {
        return Err("the topic is missing".into());
    }
    for t in topics.split(',') {
        topic(t)?;
    }
    if let Some(q) = query {
        kafka_query(q)?;
    }
    Ok(())
}

fn topic(t: &str) -> Result<(), String> {
    if t.is_empty() {
        return Err("an empty topic name".into());
    }
    if t == "." || t == ".." {
        return Err(format!("'{t}' is not a topic name"));
    }
    if t.len() > TOPIC_MAX {
        return Err(format!("a topic name is at most {TOPIC_MAX} characters"));
    }
    if let Some(c) = t
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || "._-".contains(*c)))
    {
        return Err(format!(
            "'{c}' in topic '{t}': a topic name has letters, digits, '.', '_' and '-'"
        ));
    }
    Ok(())
}

fn kafka_query(q: &str) -> Result<(), String> {
    const KEYS: [&str; 3] = ["group", "from", "until"];
    let mut seen: Vec<&str> = Vec::new();
    for pair in q.split('&') {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        if !KEYS.contains(&k) {
            let hint = crate::suggest::closest(k, KEYS)
                .map(|s| format!("; did you mean '{s}'?"))
                .unwrap_or_default();
            return Err(format!(
                "unknown query option '{k}' (options are group=NAME, from=earliest|latest, until=now){hint}"
            ));
        }
        if seen.contains(&k) {
            return Err(format!("'{k}' is given twice"));
        }
        seen.push(k);
        match (k, v) {
            ("group", "") => return Err("group= needs a consumer group's name".into()),
            ("from", "earliest" | "latest") | ("until", "now") | ("group", _) => {}
            ("from", v) => return Err(format!("from={v}: expected from=earliest or from=latest")),
            (_, v) => return Err(format!("until={v}: expected until=now")),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(src: &str) -> String {
        check(src).expect_err(src).to_string()
    }

    #[test]
    fn inputs_paths_and_good_addresses_pass() {
        for ok in [
            "-",
            "access.log",
            "/var/log/x",
            "dir/a://b",
            "tcp://127.0.0.1:9999",
            "tcp://localhost:80",
            "tcp://[::1]:9999",
            "listen://127.0.0.1:0",
            "listen://0.0.0.0:9912",
            "kafka://127.0.0.1:9092/events",
            "kafka://a:9092,b:9093/events,logs.v2",
            "kafka://a:9092/t?group=g1&from=latest&until=now",
        ] {
            assert_eq!(check(ok), Ok(()), "{ok}");
        }
    }

    #[test]
    fn inputs_listen_needs_its_address() {
        let e = err("listen://:9912");
        assert!(
            e.starts_with("spate: -i listen://:9912: the address is missing"),
            "{e}"
        );
        assert!(e.contains("listen://127.0.0.1:9912"), "{e}");
        assert!(err("listen://127.0.0.1").contains("the port is missing"));
    }

    #[test]
    fn inputs_tcp_needs_host_and_port() {
        let e = err("tcp://127.0.0.1");
        assert_eq!(
            e,
            "spate: -i tcp://127.0.0.1: the port is missing; write tcp://HOST:PORT, such as tcp://127.0.0.1:9999"
        );
        assert!(err("tcp://:9999").contains("the host is missing"));
        assert!(err("tcp://h:99999").contains("'99999' is not a port"));
        assert!(err("tcp://h:0").contains("port 0"));
        assert!(err("tcp://h:80/path").contains("'/' has no place"));
        assert!(err("tcp://::1:80").contains("brackets"));
        assert!(err("tcp://").contains("missing"));
    }

    #[test]
    fn inputs_unknown_scheme_with_a_suggestion() {
        let e = err("http://x");
        assert_eq!(
            e,
            format!("spate: -i http://x: spate does not read 'http://'; {FORMS}")
        );
        assert!(err("tpc://h:1").contains("did you mean 'tcp://'?"));
        assert!(err("kafak://h:1/t").contains("did you mean 'kafka://'?"));
        assert!(err("TCP://h:1").contains("did you mean 'tcp://'?"));
    }

    #[test]
    fn inputs_kafka_form_and_query() {
        assert!(err("kafka://127.0.0.1:9092").contains("the topic is missing"));
        assert!(err("kafka://127.0.0.1:9092/").contains("the topic is missing"));
        assert!(err("kafka:///t").contains("the broker is missing"));
        assert!(err("kafka://h/t").contains("broker 'h': the port is missing"));
        assert!(err("kafka://h:1/a b").contains("' ' in topic"));
        assert!(err("kafka://h:1/a,,b").contains("empty topic"));
        assert!(err("kafka://h:1/t?from=start").contains("from=earliest or from=latest"));
        assert!(err("kafka://h:1/t?until=later").contains("until=now"));
        assert!(err("kafka://h:1/t?group=").contains("group= needs"));
        assert!(err("kafka://h:1/t?grup=x").contains("did you mean 'group'?"));
        assert!(err("kafka://h:1/t?from=latest&from=earliest").contains("twice"));
    }
}
