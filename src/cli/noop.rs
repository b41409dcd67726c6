//! Options that would do nothing in the run they are given to: bad usage
//! (exit 2) saying why, so that a run is never quietly different from
//! what its command line says (`--lateness` without `--event-time`,
//! `--header` into jsonl). One line of [`RULES`] per rule: the option
//! (`NAME` or `NAME=VALUE`), when it does something, and why not.
//!
use clap::ArgMatches;
use clap::parser::ValueSource;

use crate::plan::UsageError;
use crate::sink::OutputFormat;

/// What the rules look at: the command line, the inputs and the output.
pub struct Facts<'a> {
    pub matches: &'a ArgMatches,
    pub inputs: &'a [String],
    pub output: OutputFormat,
}

/// When an option does something.
type Works = fn(&Facts<'_>) -> bool;

/// `(option, when it does something, why not)`, checked in order; the
/// first option given on the command line whose rule fails is the error.
/// In the message, `{output}` is the output format's name and
/// `{event_time}` what `--event-time` says.
const RULES: &[(&str, Works, &str)] = &[
    (
        "lateness",
        |f| f.event_time(),
        "--lateness does nothing without --event-time: it is how far behind the newest timestamp \
         a record may arrive; cut batches by event time (--event-time FIELD|auto) or leave --lateness out",
    ),
    (
        "reconnect",
        |f| f.reconnecting_input(),
        "--reconnect does nothing here: it retries tcp:// and kafka:// inputs, and none is given",
    ),
    (
        "header",
        |f| f.tsv(),
        "--header does nothing with -o {output}: it prints tsv's header line (csv always has one, \
         json and jsonl name every field, pretty and spark print their own); use -o tsv --header, \
         or leave --header out",
    ),
    (
        "event-time-format",
        |f| f.event_time(),
        "--event-time-format does nothing without --event-time FIELD: add --event-time and the \
         field that holds the time",
    ),
    (
        "event-time-format",
        |f| f.event_time_field(),
        "--event-time-format does not apply to --event-time {event_time}, which reads its times \
         by itself: name the field that holds the time (--event-time FIELD)",
    ),
    (
        "speed",
        |f| f.event_time(),
        "--speed does nothing without --event-time: it replays by the records' own timestamps; \
         add --event-time FIELD|auto",
    ),
    (
        "speed",
        |f| f.file_input(),
        "--speed paces the reading of recorded files, and no input is a file: give them with -i \
         (not standard input or a connection)",
    ),
    (
        "event-time=kafka",
        |f| f.kafka_input(),
        "--event-time kafka reads Kafka messages' own timestamps, and no input is kafka://: use \
         --event-time FIELD|auto",
    ),
    (
        "from-end",
        |f| f.follow(),
        "--from-end does nothing without -F: it starts a followed file at its end; add -F (--follow), \
         or leave --from-end out",
    ),
];

impl Facts<'_> {
    /// Whether the option was written on the command line (not a default),
    /// with `value` when one is given; false for an option this build does
    /// not have.
    fn given(&self, id: &str, value: Option<&str>) -> bool {
        if !self.matches.try_contains_id(id).unwrap_or(false)
            || self.matches.value_source(id) != Some(ValueSource::CommandLine)
        {
            return false;
        }
        match value {
            None => true,
            Some(v) => self
                .matches
                .try_get_raw(id)
                .ok()
                .flatten()
                .is_some_and(|mut vals| vals.any(|x| x == v)),
        }
    }

    fn text(&self, id: &str) -> Option<&str> {
        self.matches
            .try_get_one::<String>(id)
            .ok()
            .flatten()
            .map(String::as_str)
    }

    /// `--event-time` is given.
    pub fn event_time(&self) -> bool {
        self.given("event-time", None)
    }

    /// `--event-time FIELD`: a field, not `auto` or `kafka`.
    pub fn event_time_field(&self) -> bool {
        self.text("event-time")
            .is_some_and(|v| v != "auto" && v != "kafka")
    }

    /// `-F`.
    pub fn follow(&self) -> bool {
        self.given("follow", None)
    }

    /// The output is tsv.
    pub fn tsv(&self) -> bool {
        self.output == OutputFormat::Tsv
    }

    /// A `tcp://` or `kafka://` input.
    pub fn reconnecting_input(&self) -> bool {
        self.inputs
            .iter()
            .any(|s| s.starts_with("tcp://") || s.starts_with("kafka://"))
    }

    /// A `kafka://` input.
    pub fn kafka_input(&self) -> bool {
        self.inputs.iter().any(|s| s.starts_with("kafka://"))
    }

    /// An input that is a file (or a pattern or a directory): not standard
    /// input, not an address.
    pub fn file_input(&self) -> bool {
        self.inputs.iter().any(|s| s != "-" && !s.contains("://"))
    }
}

/// The first option given that would do nothing, as the usage error.
pub fn check(f: &Facts<'_>) -> Result<(), UsageError> {
    check_rules(f, RULES)
}

fn check_rules(f: &Facts<'_>, rules: &[(&str, Works, &str)]) -> Result<(), UsageError> {
    for (option, works, why) in rules {
        let (id, value) = match option.split_once('=') {
            Some((id, v)) => (id, Some(v)),
            None => (*option, None),
        };
        if f.given(id, value) && !works(f) {
            let text = why
                .replace("{output}", format_name(f.output))
                .replace("{event_time}", f.text("event-time").unwrap_or(""));
            return Err(UsageError::global(text));
        }
    }
    Ok(())
}

fn format_name(f: OutputFormat) -> &'static str {
    OutputFormat::NAMES
        .into_iter()
        .find(|n| OutputFormat::from_name(n) == Some(f))
        .unwrap_or("?")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn matches(args: &[&str]) -> ArgMatches {
        super::super::command()
            .try_get_matches_from(std::iter::once("spate").chain(args.iter().copied()))
            .expect("valid arguments")
    }

    fn check_args(args: &[&str], inputs: &[&str], output: OutputFormat) -> Result<(), String> {
        let m = matches(args);
        let inputs: Vec<String> = inputs.iter().map(|s| s.to_string()).collect();
        check(&Facts {
            matches: &m,
            inputs: &inputs,
            output,
        })
        .map_err(|e| e.to_string())
    }

    #[test]
    fn noop_options_that_do_nothing_say_why() {
        use OutputFormat::*;
        let e = check_args(&["--lateness", "5s", "count"], &["-"], Tsv).unwrap_err();
        assert!(
            e.starts_with("spate: --lateness does nothing without --event-time"),
            "{e}"
        );
        assert!(
            check_args(
                &["--lateness", "5s", "--event-time", "auto", "count"],
                &["-"],
                Tsv
            )
            .is_ok()
        );
        // the default lateness is no option given
        assert!(check_args(&["count"], &["-"], Tsv).is_ok());
        let e = check_args(&["--reconnect", "count"], &["a.log"], Tsv).unwrap_err();
        assert!(e.contains("--reconnect does nothing here"), "{e}");
        assert!(check_args(&["--reconnect", "count"], &["tcp://h:1"], Tsv).is_ok());
        assert!(check_args(&["--reconnect", "count"], &["kafka://h:1/t"], Tsv).is_ok());
        let e = check_args(&["--header", "count"], &["-"], Jsonl).unwrap_err();
        assert!(e.contains("--header does nothing with -o jsonl"), "{e}");
        assert!(check_args(&["--header", "count"], &["-"], Pretty).is_err());
        assert!(check_args(&["--header", "count"], &["-"], Tsv).is_ok());
        let e = check_args(&["--from-end", "count"], &["a.log"], Tsv).unwrap_err();
        assert!(e.contains("--from-end does nothing without -F"), "{e}");
        assert!(check_args(&["--from-end", "-F", "count"], &["a.log"], Tsv).is_ok());
    }

    #[test]
    fn noop_event_time_format_speed_and_kafka_rules() {
        use OutputFormat::*;
        let fmt = ["--event-time-format", "%s"];
        let e = check_args(&[&fmt[..], &["count"]].concat(), &["a.log"], Tsv).unwrap_err();
        assert!(e.contains("without --event-time FIELD"), "{e}");
        let e = check_args(
            &[&["--event-time", "auto"], &fmt[..], &["count"]].concat(),
            &["a.log"],
            Tsv,
        )
        .unwrap_err();
        assert!(e.contains("does not apply to --event-time auto"), "{e}");
        assert!(
            check_args(
                &[&["--event-time", "ts"], &fmt[..], &["count"]].concat(),
                &["a.log"],
                Tsv
            )
            .is_ok()
        );
        let e = check_args(&["--speed", "2", "count"], &["a.log"], Tsv).unwrap_err();
        assert!(
            e.contains("--speed does nothing without --event-time"),
            "{e}"
        );
        let e = check_args(
            &["--event-time", "ts", "--speed", "2", "count"],
            &["-"],
            Tsv,
        )
        .unwrap_err();
        assert!(e.contains("no input is a file"), "{e}");
        assert!(
            check_args(
                &["--event-time", "ts", "--speed", "2", "count"],
                &["a.log"],
                Tsv
            )
            .is_ok()
        );
        let e = check_args(&["--event-time", "kafka", "count"], &["a.log"], Tsv).unwrap_err();
        assert!(e.contains("no input is kafka://"), "{e}");
        assert!(check_args(&["--event-time", "kafka", "count"], &["kafka://h:1/t"], Tsv).is_ok());
    }
}
