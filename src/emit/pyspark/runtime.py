# ---------------------------------------------------------------------------
# The runtime: the same in every program spate emits. It reads the source,
# runs the chain above with Spark, and prints each batch in spate's output
# format (time column, number format, escapes, row order), so that the
# output of this program and of spate can be compared with diff.
# ---------------------------------------------------------------------------

NUM_RE = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
INT_RE = re.compile(r"[+-]?[0-9]+")


def parse_num(text):
    """Text that reads as a number, as spate reads it (awk-like, strict)."""
    t = text.strip(" \t")
    if not NUM_RE.fullmatch(t):
        return None
    if INT_RE.fullmatch(t):
        i = int(t)
        if -(2**63) <= i < 2**63:
            return i
    f = float(t)
    return f if math.isfinite(f) else None


def fmt_float(x):
    """spate's number format: integral values as integers, others with up
    to 6 decimals, trailing zeros dropped."""
    if math.isnan(x):
        return "nan"
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    if x == math.trunc(x):
        if abs(x) < 1e21:
            return str(int(x))
        return repr(x)
    s = ("%.6f" % x).rstrip("0").rstrip(".")
    return "0" if s == "-0" else s


# A value is a pair (kind, payload): "s" text, "q" a JSON string's text,
# "i" integer, "f" float, "b" boolean, "o" JSON object or array (its JSON
# text), None null. A missing field is no pair at all.
NULL = (None, None)


def text_of(v):
    kind, x = v
    if kind is None:
        return ""
    if kind == "i":
        return str(x)
    if kind == "f":
        return fmt_float(x)
    if kind == "b":
        return "true" if x else "false"
    return x


def num_of(v):
    kind, x = v
    if kind in ("i", "f"):
        return x
    if kind in ("s", "q"):
        return parse_num(x)
    return None


def sort_key(v):
    """A value's place in spate's sort order: numbers (and text that reads
    as one) first, numerically; other text by its bytes; null last."""
    if v is None or v[0] is None:
        return (2, 0, b"")
    n = num_of(v)
    if n is not None:
        return (0, n, text_of(v))
    return (1, 0, text_of(v).encode("utf-8"))


def cmp(a, b):
    return (a > b) - (a < b)


def cmp_keys(a, b, reverse=False):
    if a[0] == 2 or b[0] == 2:
        return cmp(a[0] == 2, b[0] == 2)
    if a[0] != b[0]:
        o = cmp(a[0], b[0])
    elif a[0] == 0:
        o = cmp(a[1], b[1]) or cmp(a[2], b[2])
    else:
        o = cmp(a[2], b[2])
    return -o if reverse else o


KIND_ORDER = {None: 0, "b": 1, "i": 2, "f": 3, "s": 4, "q": 4, "o": 5}


def group_key(values):
    """Group keys in sort order, then by kind (the number 1 before the
    text 1), as spate orders the rows of stats."""
    return [sort_key(v) for v in values], [KIND_ORDER[v[0]] for v in values]


def cmp_groups(a, b):
    for x, y in zip(a[0], b[0]):
        o = cmp_keys(x, y)
        if o:
            return o
    return cmp(a[1], b[1])


def get(row, name):
    for n, v in row:
        if n == name:
            return v
    return None


# -- the operators after the barrier, on a batch's rows ---------------------


def op_sort(rows, fields, reverse):
    keyed = [([sort_key(get(r, f)) for f in fields], r) for r in rows]

    def order(a, b):
        for x, y in zip(a[0], b[0]):
            o = cmp_keys(x, y, reverse)
            if o:
                return o
        return 0

    keyed.sort(key=functools.cmp_to_key(order))
    return [r for _, r in keyed]


def lookup(row, name):
    """A field of a row, or a dotted path into a JSON field (the longest
    field name before a dot wins), as spate's Record::lookup."""
    v = get(row, name)
    if v is not None or "." not in name:
        return v
    cut = len(name)
    while "." in name[:cut]:
        i = name.rindex(".", 0, cut)
        head = get(row, name[:i])
        if head is not None and head[0] == "o":
            x = json.loads(head[1])
            for part in name[i + 1:].split("."):
                if not isinstance(x, dict) or part not in x:
                    return None
                x = x[part]
            return json_to_value(x)
        cut = i
    return None


def json_to_value(x):
    """A value read from JSON, as spate's Value::from_json makes it."""
    if x is None:
        return NULL
    if isinstance(x, bool):
        return ("b", x)
    if isinstance(x, int):
        return ("i", x) if -(2**63) <= x < 2**63 else ("f", float(x))
    if isinstance(x, float):
        return ("f", x)
    if isinstance(x, str):
        return ("q", x)
    return ("o", json.dumps(x, ensure_ascii=False, separators=(",", ":")))


def op_top(rows, n, field, groups=()):
    """top N -f FIELD [-g GROUPS]: the N rows with the largest FIELD, or
    the N of each group (rows whose group fields print the same), groups
    in ascending order, the empty group last."""

    def rank(i, r):
        ranked = None
        rest = []
        for name, v in r:
            if name == field and ranked is None:
                ranked = v
            else:
                rest.append(sort_key(v))
        return sort_key(ranked), rest, i

    def order(a, b):
        ka, kb = a[0], b[0]
        if ka[0] == 0 and kb[0] == 1:
            o = -1
        elif ka[0] == 1 and kb[0] == 0:
            o = 1
        else:
            o = cmp_keys(ka, kb, True)
        if o:
            return o
        for x, y in zip(a[1], b[1]):
            o = cmp_keys(x, y)
            if o:
                return o
        return cmp(len(a[1]), len(b[1])) or cmp(a[2], b[2])

    if not groups:
        ranked = sorted((rank(i, r) for i, r in enumerate(rows)), key=functools.cmp_to_key(order))
        return [rows[i] for _, _, i in ranked[:n]]

    def group(r):
        texts = []
        for g in groups:
            v = lookup(r, g)
            texts.append("" if v is None else text_of(v))
        return texts, [(2, 0, b"") if t == "" else sort_key(("s", t)) for t in texts]

    def grouped(a, b):
        for x, y in zip(a[0][1], b[0][1]):
            o = cmp_keys(x, y)
            if o:
                return o
        return order(a[1], b[1])

    keyed = sorted(((group(r), rank(i, r)) for i, r in enumerate(rows)), key=functools.cmp_to_key(grouped))
    kept, run, prev = [], 0, None
    for (texts, _), rk in keyed:
        run = run + 1 if texts == prev else 0
        prev = texts
        if run < n:
            kept.append(rows[rk[2]])
    return kept


def op_head(rows, n):
    return rows[:n]


# -- reading Spark's rows -----------------------------------------------------


def field_value(x):
    """A field column (a struct of text, kind and number) as a value."""
    if x is None or x["k"] is None:
        return None
    kind, t = x["k"], x["t"]
    if kind in ("s", "q"):
        return (kind, t)
    if kind == "i":
        return ("i", int(t))
    if kind == "f":
        return ("f", float(x["n"]))
    if kind == "b":
        return ("b", t == "true")
    return ("o", t)


def agg_value(x, kind):
    if x is None:
        return NULL
    if kind == "i":
        return ("i", int(x))
    return ("f", float(x))


def record_row(r):
    """A record: its present fields, in order (a missing one is left out)."""
    row = []
    for name, col in COLUMNS:
        v = field_value(r[col])
        if v is not None:
            row.append((name, v))
    return row


def time_value(ms):
    """A time a row carries (a session's start and end), as spate makes it:
    a number where the output prints times as whole seconds or
    milliseconds, else the text of a batch time."""
    if TIME_FORMAT == "epoch-ms":
        return ("i", ms)
    if TIME_FORMAT == "epoch" and not MILLIS:
        return ("i", ms // 1000)
    return ("s", time_text(ms))


def agg_row(r):
    """An aggregation's row: keys (null when missing), a session's times,
    then aggregates."""
    row = []
    for name, col, kind in COLUMNS:
        if kind == "key":
            v = field_value(r[col])
            row.append((name, NULL if v is None else v))
        elif kind == "time":
            row.append((name, time_value(r[col] // 1000)))
        else:
            row.append((name, agg_value(r[col], kind)))
    return row


def order_rows(rows):
    """The aggregation's own order: count-by-key by count descending then
    key ascending; stats by group ascending."""
    nkeys = sum(1 for c in COLUMNS if c[2] == "key")
    if AGGREGATION == "count-by-key":

        def order(a, b):
            o = cmp(b[-1][1][1], a[-1][1][1])
            if o:
                return o
            for x, y in zip(a[:nkeys], b[:nkeys]):
                o = cmp_keys(sort_key(x[1]), sort_key(y[1]))
                if o:
                    return o
            return 0

        return sorted(rows, key=functools.cmp_to_key(order))
    if AGGREGATION == "stats" and nkeys:
        return sorted(
            rows,
            key=functools.cmp_to_key(
                lambda a, b: cmp_groups(group_key([v for _, v in a[:nkeys]]), group_key([v for _, v in b[:nkeys]]))
            ),
        )
    return rows


# -- output ------------------------------------------------------------------


def time_text(ms):
    if TIME_FORMAT == "epoch-ms":
        return str(ms)
    if TIME_FORMAT == "epoch":
        if MILLIS:
            return "%d.%03d" % (ms // 1000, ms % 1000)
        return str(ms // 1000)
    t = datetime.datetime.fromtimestamp(ms // 1000, datetime.timezone.utc)
    s = t.strftime("%Y-%m-%dT%H:%M:%S")
    if MILLIS:
        s += ".%03d" % (ms % 1000)
    return s + "Z"


def tsv_escape(s):
    return s.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")


def csv_field(s):
    if any(c in s for c in ',"\r\n'):
        return '"' + s.replace('"', '""') + '"'
    return s


# text written exactly as spate writes a number: a JSON number in jsonl
# and json, unless it was a JSON string
NUMBER_TEXT = re.compile(r"-?(0|[1-9][0-9]*)(\.[0-9]{0,5}[1-9])?\Z")


def json_value(v):
    kind, x = v
    if kind is None:
        return "null"
    if kind == "s" and NUMBER_TEXT.match(x):
        return x
    if kind == "i":
        return str(x)
    if kind == "f":
        return fmt_float(x) if math.isfinite(x) else "null"
    if kind == "b":
        return "true" if x else "false"
    if kind == "o":
        return json.dumps(json.loads(x), ensure_ascii=False, separators=(",", ":"))
    return json.dumps(x, ensure_ascii=False)


def json_time(ms):
    t = time_text(ms)
    return json.dumps(t) if TIME_FORMAT == "rfc3339" else t


class Columns:
    """The columns of csv and tsv, as spate keeps them (its sink/columns.rs):
    the chain's own (KNOWN) or the first batch's fields in the order first
    seen; a row with a field outside them starts a new header block, a row
    that lacks some has empty cells."""

    def __init__(self):
        self.names = list(KNOWN) if KNOWN is not None else []
        self.set = KNOWN is not None
        self.headed = False

    def place(self, row, cols):
        """The row's values under cols (None: an empty cell), and the names
        of its fields that have no column."""
        slots = [None] * len(cols)
        new = []
        for j, (name, v) in enumerate(row):
            at = j if j < len(cols) and cols[j] == name and slots[j] is None else None
            if at is None:
                at = next((i for i, c in enumerate(cols) if c == name and slots[i] is None), None)
            if at is None:
                new.append(name)
            else:
                slots[at] = v
        return slots, new

    def lay_out(self, rows):
        """[header, new block, number of columns, rows] for each stretch."""
        first = not self.set
        if first and not rows:
            return []
        self.set = True
        out = [[not self.headed, False, len(self.names), []]]
        self.headed = True
        for r in rows:
            new = self.place(r, self.names)[1]
            if new:
                self.names.extend(new)
                if not first:
                    out.append([True, True, len(self.names), []])
            out[-1][3].append(r)
        if first:
            out[0][2] = len(self.names)
        return [s for s in out if s[3] or (s[0] and not s[1])]


class Printer:
    """Writes batches in spate's -o format; counts them for --max-batches."""

    def __init__(self, out):
        self.out = out
        self.columns = Columns()
        self.batches = 0
        self.lock = threading.Lock()

    def done(self):
        return MAX_BATCHES is not None and self.batches >= MAX_BATCHES

    def batch(self, ms, rows, always=False, times=None):
        """`always`: written even when empty (-b eof's one batch); `times`:
        the rows that carry their own time (a session's end, by id(row)),
        which tsv, csv and jsonl print instead of the batch's."""
        times = times or {}
        with self.lock:
            if self.done() or not (rows or always):
                return
            self.batches += 1
            lines = []
            if OUTPUT in ("tsv", "csv"):
                sep, esc = ("\t", tsv_escape) if OUTPUT == "tsv" else (",", csv_field)
                for header, new_block, n, rs in self.columns.lay_out(rows):
                    cols = self.columns.names[:n]
                    if header and (HEADER or OUTPUT == "csv"):
                        if new_block:
                            lines.append("")
                        lines.append(sep.join(["time"] + [esc(c) for c in cols]))
                    for r in rs:
                        cells = ["" if v is None else esc(text_of(v)) for v in self.columns.place(r, cols)[0]]
                        lines.append(sep.join([esc(time_text(times.get(id(r), ms)))] + cells))
            elif OUTPUT == "jsonl":
                for r in rows:
                    head = '{"time":' + json_time(times.get(id(r), ms))
                    lines.append(head + "".join("," + json.dumps(n, ensure_ascii=False) + ":" + json_value(v) for n, v in r) + "}")
            else:
                objs = ["{" + ",".join(json.dumps(n, ensure_ascii=False) + ":" + json_value(v) for n, v in r) + "}" for r in rows]
                lines.append('{"time":' + json_time(ms) + ',"rows":[' + ",".join(objs) + "]}")
            self.out.write("".join(line + "\n" for line in lines))
            self.out.flush()


def finish(rows):
    """The operators after the barrier, then the batch's rows as printed."""
    return post_ops(rows)


def now_ms():
    return int(time.time() * 1000)


def batch_end(ms):
    """The end of the processing-time interval that holds `ms`."""
    return (ms // BATCH_MS + 1) * BATCH_MS


def batch_time_at_trigger(ms):
    """A micro-batch triggered at an interval boundary T reads what arrived
    before T: its time is T (the last boundary at or before `ms`)."""
    return ms // BATCH_MS * BATCH_MS


# -- sources -----------------------------------------------------------------


def kafka_reader(reader, src):
    brokers, _, topic = src[len("kafka://"):].partition("/")
    return (
        reader.format("kafka")
        .option("kafka.bootstrap.servers", brokers)
        .option("subscribe", topic)
        .option("startingOffsets", "earliest")
        .load()
        .selectExpr("CAST(value AS STRING) AS _")
    )


def read_bounded(spark, inputs):
    """The whole input, once (files, or a Kafka topic up to its end)."""
    if inputs[0].startswith("kafka://"):
        df = kafka_reader(spark.read, inputs[0])
        for src in inputs[1:]:
            df = df.unionByName(kafka_reader(spark.read, src))
    else:
        df = spark.read.text(inputs, wholetext=False).withColumnRenamed("value", "_")
    return df


def read_stream(spark, inputs):
    """A stream: new files under a path, a socket, or a Kafka topic."""
    dfs = []
    for src in inputs:
        if src.startswith("tcp://"):
            host, _, port = src[len("tcp://"):].rpartition(":")
            df = spark.readStream.format("socket").option("host", host.strip("[]")).option("port", int(port)).load()
            dfs.append(df.withColumnRenamed("value", "_"))
        elif src.startswith("kafka://"):
            dfs.append(kafka_reader(spark.readStream, src))
        else:
            dfs.append(spark.readStream.text(src).withColumnRenamed("value", "_"))
    df = dfs[0]
    for other in dfs[1:]:
        df = df.unionByName(other)
    return df


def lines_of(df):
    """Lines as spate reads them: a carriage return before the end of a
    line is dropped (Kafka messages are split into lines too)."""
    df = df.select(F.explode(F.split(F.col("_"), "\n", -1)).alias("_")) if SPLIT_LINES else df
    return df.select(F.regexp_replace(F.col("_"), "\r$", "").alias("_"))


# -- running -----------------------------------------------------------------


def time_window():
    """What groups records in time: a window, or with SESSION each key's
    sessions (named window too)."""
    if SESSION:
        return F.session_window("__ts", SESSION).alias("window")
    return F.window("__ts", *WINDOW_ARGS)


def window_times(out):
    """A window's end (__end, milliseconds); for a session also its start
    and end (__ss, __se, microseconds: Spark's end + 1µs, since SESSION is
    GAP - 1µs) and, as __end, the end of the batch it is written with, the
    first at or after its end."""
    if not SESSION:
        return out.withColumn("__end", F.unix_millis(F.col("window.end")))
    b = BATCH_MS * 1000
    out = out.withColumn("__ss", F.unix_micros(F.col("window.start")))
    out = out.withColumn("__se", F.unix_micros(F.col("window.end")) + 1)
    return out.withColumn("__end", F.expr("(__se + %d - 1) div %d" % (b, b)) * BATCH_MS)


def collect_windows(rs):
    """Rows of a windowed aggregation, grouped by window end (a session's
    batch end), in order."""
    by_end = {}
    for r in rs:
        by_end.setdefault(r["__end"], []).append(r)
    return sorted(by_end.items())


def agg_rows(rs, times=None):
    """An aggregation's rows in its order (sessions: then by start); a
    global aggregation of an empty batch has no row. `times` takes each
    session row's own time, its end (by id(row))."""
    rs = [r for r in rs if r["__n"]]
    if SESSION:
        rs.sort(key=lambda r: r["__ss"])
    rows = [agg_row(r) for r in rs]
    if SESSION and times is not None:
        for row, r in zip(rows, rs):
            times[id(row)] = r["__se"] // 1000
    return order_rows(rows)


def emit_windows(printer, groups):
    for end, rs in groups:
        times = {}
        rows = agg_rows(rs, times)
        printer.batch(end, finish(rows), times=times)


class Sessions:
    """A stream's sessions, held until their batch is whole: Spark writes a
    session once the watermark passes its end, so once one of a later batch
    comes, every session of the batches before it has come."""

    def __init__(self, printer):
        self.printer = printer
        self.due = {}

    def add(self, rs):
        for r in rs:
            self.due.setdefault(r["__end"], []).append(r)

    def flush(self, everything=False):
        last = max(self.due, default=None)
        for end in sorted(self.due):
            if everything or end < last:
                emit_windows(self.printer, [(end, self.due.pop(end))])


def run_bounded(spark, args, printer):
    """The whole input as a bounded DataFrame: -b eof, a file read to its
    end, or --event-time over a file (every window is emitted at the end, as
    spate flushes its open batches at end of input)."""
    df = prepare(lines_of(read_bounded(spark, args.input)))
    if EVENT_TIME:
        df = df.filter(F.col("__ts").isNotNull())
        if AGGREGATION is None:
            df = df.withColumn("__end", F.unix_millis(F.window("__ts", WINDOW).end))
            groups = {}
            for r in df.collect():
                groups.setdefault(r["__end"], []).append(record_row(r))
            for end in sorted(groups):
                printer.batch(end, finish(groups[end]))
            return
        emit_windows(printer, collect_windows(aggregate(df, [time_window()]).collect()))
        return
    start = now_ms()
    if AGGREGATION is None:
        rows = [record_row(r) for r in df.collect()]
    else:
        rows = agg_rows(aggregate(df, []).collect())
    eof = BATCH_MS is None
    if eof and not rows and AGGREGATION == "count":
        # -b eof writes its batch even empty: count's 0, as wc -l
        rows = [[(COLUMNS[0][0], ("i", 0))]]
    end = now_ms() if eof else batch_end(start)
    printer.batch(end, finish(rows), always=eof)


def run_stream(spark, args, printer):
    """A streaming query: micro-batches by processing time, or event-time
    windows that Spark emits once the watermark passes their end."""
    df = prepare(lines_of(read_stream(spark, args.input)))
    writer = None
    sessions = None
    if EVENT_TIME:
        df = df.filter(F.col("__ts").isNotNull()).withWatermark("__ts", LATENESS)
        agg = aggregate(df, [time_window()])
        sessions = Sessions(printer) if SESSION else None

        def each(batch, _id):
            if sessions is None:
                emit_windows(printer, collect_windows(batch.collect()))
            else:
                sessions.add(batch.collect())
                sessions.flush()

        writer = agg.writeStream.outputMode("append").foreachBatch(each)
    elif RUNNING:
        agg = aggregate(df, [])

        def each(batch, _id):
            ms = batch_time_at_trigger(now_ms())
            printer.batch(ms, finish(agg_rows(batch.collect())))

        writer = agg.writeStream.outputMode("complete").foreachBatch(each)
    else:

        def each(batch, _id):
            ms = batch_time_at_trigger(now_ms())
            if AGGREGATION is None:
                rows = [record_row(r) for r in batch.collect()]
            else:
                rows = agg_rows(aggregate(batch, []).collect())
            printer.batch(ms, finish(rows))

        writer = df.writeStream.foreachBatch(each)
    query = (
        writer.trigger(processingTime="%d milliseconds" % BATCH_MS)
        .option("checkpointLocation", args.checkpoint or tempfile.mkdtemp(prefix="spate-checkpoint-"))
        .start()
    )
    deadline = None if args.duration is None else time.time() + args.duration
    try:
        while query.isActive and not printer.done():
            if deadline is not None and time.time() >= deadline:
                break
            query.awaitTermination(0.2)
    finally:
        query.stop()
        if sessions is not None:
            # closed sessions still held: their batch may lack sessions
            # that close later, as the notes say
            sessions.flush(everything=True)


def main(argv=None, spark=None, out=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    p.add_argument("--input", "-i", action="append", help="a file or directory, tcp://HOST:PORT or kafka://BROKERS/TOPIC (repeatable) [default: %s]" % " ".join(DEFAULT_INPUT))
    p.add_argument("--master", default=None, help="Spark master URL [default: local[2], or what spark-submit sets]")
    p.add_argument("--checkpoint", default=None, help="checkpoint directory of the streaming query [default: a new temporary directory]")
    p.add_argument("--duration", type=float, default=DURATION_S, help="stop after this many seconds")
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--once", dest="bounded", action="store_true", default=BOUNDED, help="read the input once, to its end, as a batch job")
    mode.add_argument("--stream", dest="bounded", action="store_false", help="run a streaming query (files: new files under the path)")
    args = p.parse_args(argv)
    args.input = args.input or list(DEFAULT_INPUT)
    if args.bounded and any(s.startswith("tcp://") for s in args.input):
        p.error("a tcp:// source is a stream: run with --stream")
    if not args.bounded and STREAM_REFUSAL:
        p.error(STREAM_REFUSAL)
    own = spark is None
    if own:
        builder = SparkSession.builder.appName(APP_NAME)
        if args.master:
            builder = builder.master(args.master)
        elif not os.environ.get("SPARK_ENV_LOADED") and "spark.master" not in os.environ.get("PYSPARK_SUBMIT_ARGS", ""):
            builder = builder.master("local[2]")
        spark = builder.getOrCreate()
        spark.sparkContext.setLogLevel("WARN")
    # spate's semantics: UTC times, null (not an error) for a value that
    # does not convert, the last value of a key seen twice
    spark.conf.set("spark.sql.session.timeZone", "UTC")
    spark.conf.set("spark.sql.ansi.enabled", "false")
    spark.conf.set("spark.sql.mapKeyDedupPolicy", "LAST_WIN")
    printer = Printer(out or sys.stdout)
    try:
        if args.bounded:
            run_bounded(spark, args, printer)
        else:
            run_stream(spark, args, printer)
    except BrokenPipeError:
        return 0
    finally:
        if own:
            spark.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
