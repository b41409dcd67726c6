# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_spate_global_optspecs
    string join \n i/input= F/follow from-end reconnect max-connections= max-keys= max-line-bytes= b/batch= batch-lines= event-time= event-time-format= tz= lateness= duration= max-batches= speed= exit-on-row with-start emit-empty o/output= header state= output-file= time-format= live emit= explain dead-letter= strict stats stats-json progress no-progress threads= h/help V/version
end

function __fish_spate_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_spate_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_spate_using_subcommand
    set -l cmd (__fish_spate_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c spate -n "__fish_spate_needs_command" -s i -l input -d 'Read from SRC: - (standard input, the default), a file, a quoted \'PATTERN\' with *, ? or [...] (its files in name order), a directory (every file in it), tcp://HOST:PORT, listen://ADDR:PORT (ADDR required: 127.0.0.1, or 0.0.0.0 for every interface) or kafka://HOST:PORT/TOPIC[?group=NAME&from=earliest|latest&until=now]; repeatable. Files and standard input are read one after another in the order given; gzip, zstd, bzip2 and xz are decompressed, whatever the name. A malformed address or an unknown scheme is bad usage' -r
complete -c spate -n "__fish_spate_needs_command" -l max-connections -d 'listen:// inputs: refuse clients beyond N at once' -r
complete -c spate -n "__fish_spate_needs_command" -l max-keys -d 'count-by-key and stats: hold at most N distinct keys per batch or window; records with further keys are counted in one row keyed (other), and the summary says how many' -r
complete -c spate -n "__fish_spate_needs_command" -l max-line-bytes -d 'Cut longer lines to their first N bytes (and count them); accepts K, KiB, M, MiB' -r
complete -c spate -n "__fish_spate_needs_command" -s b -l batch -d 'Batch interval (250ms, 2s, 1m, 1h, 1d) or \'eof\' for the whole input as one batch, written even when empty (count prints 0) [default: 1s]' -r
complete -c spate -n "__fish_spate_needs_command" -l batch-lines -d 'Close a batch every N input lines instead' -r
complete -c spate -n "__fish_spate_needs_command" -l event-time -d 'Cut batches by each record\'s own timestamp: a field, \'auto\' (the first timestamp in the raw line), or \'kafka\' (each Kafka message\'s timestamp)' -r
complete -c spate -n "__fish_spate_needs_command" -l event-time-format -d 'With --event-time FIELD: read the field with this strftime format (as chrono reads it) instead of the built-in formats: \'%Y/%m/%d %H:%M:%S\', \'%d.%m.%Y %H:%M:%S\', \'%s\'; no year reads the current one, no time of day midnight; a value that does not fit is untimed' -r
complete -c spate -n "__fish_spate_needs_command" -l tz -d 'An IANA time zone (Europe/Paris) or offset (+02:00): the zone of event times written without one (syslog and --event-time-format included; epoch numbers are absolute), of the times pretty and spark print, and of batch and window boundaries of 1h or more, which then fall on local multiples from local midnight (-b 1d: local days, 23 or 25 hours across a DST change)' -r
complete -c spate -n "__fish_spate_needs_command" -l lateness -d 'With --event-time: how far behind the newest timestamp seen a record may arrive' -r
complete -c spate -n "__fish_spate_needs_command" -l duration -d 'Stop after this long' -r
complete -c spate -n "__fish_spate_needs_command" -l max-batches -d 'Stop after N emitted batches or windows (the lines of batches left open count as unemitted)' -r
complete -c spate -n "__fish_spate_needs_command" -l speed -d 'With --event-time and file inputs: replay at the pace the timestamps were recorded, X times faster (--speed 60: an hour a minute); the output is what it would be without --speed' -r
complete -c spate -n "__fish_spate_needs_command" -s o -l output -d 'Output format [default: pretty on a terminal, else tsv]' -r -f -a "pretty\t''
tsv\t''
csv\t''
jsonl\t''
json\t''
spark\t''"
complete -c spate -n "__fish_spate_needs_command" -l state -d 'Keep the run\'s progress in FILE (written atomically after each written batch and at exit) and go on from it when started again with the same arguments: nothing written twice, no line counted twice or skipped; SIGTERM and --duration then suspend (the open batches stay in FILE) and SIGINT drains' -r
complete -c spate -n "__fish_spate_needs_command" -l output-file -d 'Append the results to FILE instead of standard output (the default format is then tsv); with --state, what FILE holds is exactly-once' -r
complete -c spate -n "__fish_spate_needs_command" -l time-format -d 'How batch times print' -r -f -a "rfc3339\t''
epoch\t''
epoch-ms\t''"
complete -c spate -n "__fish_spate_needs_command" -l emit -d 'Print a program that runs the chain on TARGET (pyspark: a PySpark Structured Streaming job with the same output) instead of running it' -r -f -a "pyspark\t''"
complete -c spate -n "__fish_spate_needs_command" -l dead-letter -d 'Append every dropped line to FILE as one JSON object: {"reason":"late","input":"access.log","line":1234,"text":"..."} (reason as --stats-json\'s by_reason keys, input as given, - for standard input, line 1-based within its input, text after repair)' -r
complete -c spate -n "__fish_spate_needs_command" -l threads -d 'Worker threads for large batches [default: all cores]' -r
complete -c spate -n "__fish_spate_needs_command" -s F -l follow -d 'Keep reading files as they grow, across rotation and truncation, like tail -F; a pattern or directory also picks up files that appear later (compressed files cannot be followed)'
complete -c spate -n "__fish_spate_needs_command" -l from-end -d 'With -F: start at the end of each file instead of its start'
complete -c spate -n "__fish_spate_needs_command" -l reconnect -d 'tcp:// and kafka:// inputs: when the peer or broker closes or refuses, retry with capped exponential backoff (bad usage without such an input)'
complete -c spate -n "__fish_spate_needs_command" -l exit-on-row -d 'Stop after the first batch or window that writes a row: exit 0; exit 1 when input ends (or --duration, --max-batches stop the run) with none, as grep does'
complete -c spate -n "__fish_spate_needs_command" -l with-start -d 'Every row also carries `start` right after `time` (json: each row\'s first key): end - interval for a batch, end - LENGTH for a window, session_start for a session, the previous close (or the run\'s start) for --batch-lines and -b eof, the first batch\'s start for window all'
complete -c spate -n "__fish_spate_needs_command" -l emit-empty -d 'Also print batches that have no rows (-b eof always prints its one batch)'
complete -c spate -n "__fish_spate_needs_command" -l header -d 'With -o tsv: print a header line (its first column \'time\'), and a new header block after an empty line when a field outside the columns comes; bad usage with any other format'
complete -c spate -n "__fish_spate_needs_command" -l live -d 'Redraw the latest batch\'s table in place, sized to the terminal, like top: instead of the output on a terminal, on stderr when stdout is piped (every batch still goes down the pipe); nothing when neither is a terminal'
complete -c spate -n "__fish_spate_needs_command" -l explain -d 'Print the plan in words (inputs, batches, each operator with its stage and what it keeps in memory, the output) instead of running it'
complete -c spate -n "__fish_spate_needs_command" -l strict -d 'Exit 1 at the first dropped, cut or repaired line, with its number and the reason'
complete -c spate -n "__fish_spate_needs_command" -l stats -d 'Print a line per batch on stderr with Spark Streaming\'s batch metrics (records=, rows=, processing=, scheduling_delay=, total_delay=, rate=) and the running accounting (total_lines=, total_processed=, total_filtered=, total_dropped=), and warn when processing takes longer than the interval'
complete -c spate -n "__fish_spate_needs_command" -l stats-json -d 'With -o json or jsonl: after the last batch, write one record {"accounting": {...}} to stdout with the lines read, processed, filtered, dropped (by reason) and unemitted'
complete -c spate -n "__fish_spate_needs_command" -l progress -d 'Show a progress bar on stderr for file inputs (default when stderr is a terminal)'
complete -c spate -n "__fish_spate_needs_command" -l no-progress -d 'Never show a progress bar'
complete -c spate -n "__fish_spate_needs_command" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c spate -n "__fish_spate_needs_command" -s V -l version -d 'Print version'
complete -c spate -n "__fish_spate_needs_command" -a "split" -d 'One record per token of _ (default: runs of whitespace)'
complete -c spate -n "__fish_spate_needs_command" -a "map" -d 'Rewrite _ (or a field): lower, upper, trim, replace, extract, field, template'
complete -c spate -n "__fish_spate_needs_command" -a "grep" -d 'Keep records whose _ (or a field) matches a regex; -v keeps those that do not'
complete -c spate -n "__fish_spate_needs_command" -a "where" -d 'Keep records where a comparison holds: == != < <= > >= (numeric or text), ~ !~ (regex)'
complete -c spate -n "__fish_spate_needs_command" -a "parse" -d 'Named captures of a regex become fields; lines that do not match are dropped'
complete -c spate -n "__fish_spate_needs_command" -a "json" -d 'Parse _ as a JSON object; each top-level key becomes a field'
complete -c spate -n "__fish_spate_needs_command" -a "csv" -d 'Parse _ as one CSV record into fields (named 1, 2, ... or by a header)'
complete -c spate -n "__fish_spate_needs_command" -a "logfmt" -d 'Parse key=value key2="quoted value" pairs of _ into fields'
complete -c spate -n "__fish_spate_needs_command" -a "fields" -d 'Keep only these fields, in this order'
complete -c spate -n "__fish_spate_needs_command" -a "eval" -d 'Set a field to an expression: arithmetic and a few functions on fields'
complete -c spate -n "__fish_spate_needs_command" -a "join" -d 'Add the columns of the matching row of a lookup table (CSV, TSV, JSON lines)'
complete -c spate -n "__fish_spate_needs_command" -a "count" -d 'Count the records of each batch (Spark\'s count)'
complete -c spate -n "__fish_spate_needs_command" -a "count-by-key" -d 'Count records per distinct key (Spark\'s countByValue / reduceByKey)'
complete -c spate -n "__fish_spate_needs_command" -a "stats" -d 'Aggregates (count, sum, mean, min, max, percentiles, distinct) of fields per group'
complete -c spate -n "__fish_spate_needs_command" -a "window" -d 'Make the next aggregation cover the last LENGTH of batches (sliding), all of them, or each key\'s sessions'
complete -c spate -n "__fish_spate_needs_command" -a "top" -d 'Keep the N rows with the largest FIELD (default count), or the N of each group'
complete -c spate -n "__fish_spate_needs_command" -a "sort" -d 'Sort each batch\'s rows by fields (numbers numerically, then text by bytes)'
complete -c spate -n "__fish_spate_needs_command" -a "head" -d 'Keep the first N rows of each batch'
complete -c spate -n "__fish_spate_needs_command" -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c spate -n "__fish_spate_using_subcommand split" -s r -l regex -d 'Split at every match of REGEX; \'\' splits into characters' -r
complete -c spate -n "__fish_spate_using_subcommand split" -s f -l field -d 'Split this field instead of _; each token becomes _' -r
complete -c spate -n "__fish_spate_using_subcommand split" -s h -l help -d 'Print help'
complete -c spate -n "__fish_spate_using_subcommand map" -s f -l field -d 'Rewrite this field instead of _ (dotted names reach into JSON)' -r
complete -c spate -n "__fish_spate_using_subcommand map" -s d -l delim -d 'For \'field\': split at this literal text instead of at runs of whitespace' -r
complete -c spate -n "__fish_spate_using_subcommand map" -s h -l help -d 'Print help'
complete -c spate -n "__fish_spate_using_subcommand grep" -s f -l field -d 'Match this field instead of _ (dotted names reach into JSON)' -r
complete -c spate -n "__fish_spate_using_subcommand grep" -s v -l invert-match -d 'Keep the records that do not match'
complete -c spate -n "__fish_spate_using_subcommand grep" -s i -l ignore-case -d 'Match letters of either case'
complete -c spate -n "__fish_spate_using_subcommand grep" -s F -l fixed-strings -d 'Take REGEX as literal text'
complete -c spate -n "__fish_spate_using_subcommand grep" -s h -l help -d 'Print help'
complete -c spate -n "__fish_spate_using_subcommand where" -s h -l help -d 'Print help'
complete -c spate -n "__fish_spate_using_subcommand parse" -s f -l field -d 'Parse this field instead of _' -r
complete -c spate -n "__fish_spate_using_subcommand parse" -s h -l help -d 'Print help'
complete -c spate -n "__fish_spate_using_subcommand json" -s f -l field -d 'Parse this field instead of _' -r
complete -c spate -n "__fish_spate_using_subcommand json" -s h -l help -d 'Print help'
complete -c spate -n "__fish_spate_using_subcommand csv" -s d -l delimiter -d 'The field delimiter: one ASCII character; \\t or tab for a tab' -r
complete -c spate -n "__fish_spate_using_subcommand csv" -l columns -d 'Name the columns a,b,c (values beyond the names keep their position)' -r
complete -c spate -n "__fish_spate_using_subcommand csv" -s f -l field -d 'Parse this field instead of _' -r
complete -c spate -n "__fish_spate_using_subcommand csv" -l header -d 'The first record names the columns and is not output'
complete -c spate -n "__fish_spate_using_subcommand csv" -s h -l help -d 'Print help'
complete -c spate -n "__fish_spate_using_subcommand logfmt" -s f -l field -d 'Parse this field instead of _' -r
complete -c spate -n "__fish_spate_using_subcommand logfmt" -s h -l help -d 'Print help'
complete -c spate -n "__fish_spate_using_subcommand fields" -s h -l help -d 'Print help'
complete -c spate -n "__fish_spate_using_subcommand eval" -s h -l help -d 'Print help'
complete -c spate -n "__fish_spate_using_subcommand join" -l on -d 'Match the record\'s FIELD with the table\'s COLUMN (default: the same name)' -r
complete -c spate -n "__fish_spate_using_subcommand join" -l missing -d 'A record with no matching row: keep it unchanged, or drop it' -r -f -a "keep\t''
drop\t''"
complete -c spate -n "__fish_spate_using_subcommand join" -s h -l help -d 'Print help'
complete -c spate -n "__fish_spate_using_subcommand count" -s h -l help -d 'Print help'
complete -c spate -n "__fish_spate_using_subcommand count-by-key" -s h -l help -d 'Print help'
complete -c spate -n "__fish_spate_using_subcommand stats" -s f -l field -d 'The fields to aggregate' -r
complete -c spate -n "__fish_spate_using_subcommand stats" -s a -l agg -d 'The aggregates: count sum mean min max p50 p90 p95 p99 distinct' -r
complete -c spate -n "__fish_spate_using_subcommand stats" -s g -l group-by -d 'One row per distinct value of these fields' -r
complete -c spate -n "__fish_spate_using_subcommand stats" -s h -l help -d 'Print help'
complete -c spate -n "__fish_spate_using_subcommand window" -l slide -d 'How often a window is emitted [default: the batch interval]' -r
complete -c spate -n "__fish_spate_using_subcommand window" -s h -l help -d 'Print help'
complete -c spate -n "__fish_spate_using_subcommand top" -s f -l field -d 'Rank rows by this field' -r
complete -c spate -n "__fish_spate_using_subcommand top" -s g -l group -d 'The N largest of each group of rows with the same values of these fields' -r
complete -c spate -n "__fish_spate_using_subcommand top" -s h -l help -d 'Print help'
complete -c spate -n "__fish_spate_using_subcommand sort" -s r -l reverse -d 'Descending order (rows lacking a field still come last)'
complete -c spate -n "__fish_spate_using_subcommand sort" -s h -l help -d 'Print help'
complete -c spate -n "__fish_spate_using_subcommand head" -s h -l help -d 'Print help'
complete -c spate -n "__fish_spate_using_subcommand help; and not __fish_seen_subcommand_from split map grep where parse json csv logfmt fields eval join count count-by-key stats window top sort head help" -f -a "split" -d 'One record per token of _ (default: runs of whitespace)'
complete -c spate -n "__fish_spate_using_subcommand help; and not __fish_seen_subcommand_from split map grep where parse json csv logfmt fields eval join count count-by-key stats window top sort head help" -f -a "map" -d 'Rewrite _ (or a field): lower, upper, trim, replace, extract, field, template'
complete -c spate -n "__fish_spate_using_subcommand help; and not __fish_seen_subcommand_from split map grep where parse json csv logfmt fields eval join count count-by-key stats window top sort head help" -f -a "grep" -d 'Keep records whose _ (or a field) matches a regex; -v keeps those that do not'
complete -c spate -n "__fish_spate_using_subcommand help; and not __fish_seen_subcommand_from split map grep where parse json csv logfmt fields eval join count count-by-key stats window top sort head help" -f -a "where" -d 'Keep records where a comparison holds: == != < <= > >= (numeric or text), ~ !~ (regex)'
complete -c spate -n "__fish_spate_using_subcommand help; and not __fish_seen_subcommand_from split map grep where parse json csv logfmt fields eval join count count-by-key stats window top sort head help" -f -a "parse" -d 'Named captures of a regex become fields; lines that do not match are dropped'
complete -c spate -n "__fish_spate_using_subcommand help; and not __fish_seen_subcommand_from split map grep where parse json csv logfmt fields eval join count count-by-key stats window top sort head help" -f -a "json" -d 'Parse _ as a JSON object; each top-level key becomes a field'
complete -c spate -n "__fish_spate_using_subcommand help; and not __fish_seen_subcommand_from split map grep where parse json csv logfmt fields eval join count count-by-key stats window top sort head help" -f -a "csv" -d 'Parse _ as one CSV record into fields (named 1, 2, ... or by a header)'
complete -c spate -n "__fish_spate_using_subcommand help; and not __fish_seen_subcommand_from split map grep where parse json csv logfmt fields eval join count count-by-key stats window top sort head help" -f -a "logfmt" -d 'Parse key=value key2="quoted value" pairs of _ into fields'
complete -c spate -n "__fish_spate_using_subcommand help; and not __fish_seen_subcommand_from split map grep where parse json csv logfmt fields eval join count count-by-key stats window top sort head help" -f -a "fields" -d 'Keep only these fields, in this order'
complete -c spate -n "__fish_spate_using_subcommand help; and not __fish_seen_subcommand_from split map grep where parse json csv logfmt fields eval join count count-by-key stats window top sort head help" -f -a "eval" -d 'Set a field to an expression: arithmetic and a few functions on fields'
complete -c spate -n "__fish_spate_using_subcommand help; and not __fish_seen_subcommand_from split map grep where parse json csv logfmt fields eval join count count-by-key stats window top sort head help" -f -a "join" -d 'Add the columns of the matching row of a lookup table (CSV, TSV, JSON lines)'
complete -c spate -n "__fish_spate_using_subcommand help; and not __fish_seen_subcommand_from split map grep where parse json csv logfmt fields eval join count count-by-key stats window top sort head help" -f -a "count" -d 'Count the records of each batch (Spark\'s count)'
complete -c spate -n "__fish_spate_using_subcommand help; and not __fish_seen_subcommand_from split map grep where parse json csv logfmt fields eval join count count-by-key stats window top sort head help" -f -a "count-by-key" -d 'Count records per distinct key (Spark\'s countByValue / reduceByKey)'
complete -c spate -n "__fish_spate_using_subcommand help; and not __fish_seen_subcommand_from split map grep where parse json csv logfmt fields eval join count count-by-key stats window top sort head help" -f -a "stats" -d 'Aggregates (count, sum, mean, min, max, percentiles, distinct) of fields per group'
complete -c spate -n "__fish_spate_using_subcommand help; and not __fish_seen_subcommand_from split map grep where parse json csv logfmt fields eval join count count-by-key stats window top sort head help" -f -a "window" -d 'Make the next aggregation cover the last LENGTH of batches (sliding), all of them, or each key\'s sessions'
complete -c spate -n "__fish_spate_using_subcommand help; and not __fish_seen_subcommand_from split map grep where parse json csv logfmt fields eval join count count-by-key stats window top sort head help" -f -a "top" -d 'Keep the N rows with the largest FIELD (default count), or the N of each group'
complete -c spate -n "__fish_spate_using_subcommand help; and not __fish_seen_subcommand_from split map grep where parse json csv logfmt fields eval join count count-by-key stats window top sort head help" -f -a "sort" -d 'Sort each batch\'s rows by fields (numbers numerically, then text by bytes)'
complete -c spate -n "__fish_spate_using_subcommand help; and not __fish_seen_subcommand_from split map grep where parse json csv logfmt fields eval join count count-by-key stats window top sort head help" -f -a "head" -d 'Keep the first N rows of each batch'
complete -c spate -n "__fish_spate_using_subcommand help; and not __fish_seen_subcommand_from split map grep where parse json csv logfmt fields eval join count count-by-key stats window top sort head help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
