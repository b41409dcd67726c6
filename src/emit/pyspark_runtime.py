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


def op_top(rows, n, field):
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

    ranked = sorted((rank(i, r) for i, r in enumerate(rows)), key=functools.cmp_to_key(order))
    return [rows[i] for _, _, i in ranked[:n]]


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


def agg_row(r):
    """An aggregation's row: keys (null when missing), then aggregates."""
    row = []
    for name, col, kind in COLUMNS:
        if kind == "key":
            v = field_value(r[col])
            row.append((name, NULL if v is None else v))
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

    def batch(self, ms, rows, always=False):
        """`always`: written even when empty (-b eof's one batch)."""
        with self.lock:
            if self.done() or not (rows or always):
                return
            self.batches += 1
            lines = []
            if OUTPUT in ("tsv", "csv"):
                sep, esc = ("\t", tsv_escape) if OUTPUT == "tsv" else (",", csv_field)
                t = esc(time_text(ms))
                for header, new_block, n, rs in self.columns.lay_out(rows):
                    cols = self.columns.names[:n]
                    if header and (HEADER or OUTPUT == "csv"):
                        if new_block:
                            lines.append("")
                        lines.append(sep.join(["time"] + [esc(c) for c in cols]))
                    for r in rs:
                        cells = ["" if v is None else esc(text_of(v)) for v in self.columns.place(r, cols)[0]]
                        lines.append(sep.join([t] + cells))
            elif OUTPUT == "jsonl":
                head = '{"time":' + json_time(ms)
                for r in rows:
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


# -- Spark expressions the operators use --------------------------------------

FIELD = "struct<t:string,k:string,n:double>"
NUM_SQL = r"^[ \t]*[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?[ \t]*$"


def missing():
    """A field the chain never makes: null in every record."""
    return F.lit(None).cast(FIELD)


def text_value(t):
    """A text field (null stays missing)."""
    return F.when(t.isNotNull(), F.struct(t.alias("t"), F.lit("s").alias("k"), F.lit(None).cast("double").alias("n")))


def txt(c):
    """A field's text, as spate prints it."""
    return c.getField("t")


def key_text(c):
    """A key as spate groups it: by the text it prints as, missing and
    empty text being one key (the empty key, null)."""
    t = txt(c)
    return F.when(c.isNull() | (t == ""), F.lit(None).cast("string")).otherwise(t)


def key_rep(c):
    """The value a key's row shows: of the values of a group (which print
    alike), a number before a boolean before JSON before text; null for the
    empty key."""
    k = c.getField("k")
    rank = F.when(k == "i", 4).when(k == "f", 3).when(k == "b", 2).when(k == "o", 1).otherwise(0)
    best = F.max(F.when(key_text(c).isNotNull(), F.struct(rank.alias("r"), c.alias("v"))))
    return best.getField("v")


def num(c):
    """A field as a number: a JSON number, or text that reads as one."""
    t = c.getField("t")
    return F.coalesce(c.getField("n"), F.when(t.rlike(NUM_SQL), F.regexp_replace(t, "^[ \t]+|[ \t]+$", "").cast("double")))


def float_text(d):
    """spate's text of a float (used where a JSON float is read as text)."""
    frac = F.regexp_replace(F.regexp_replace(F.format_string("%.6f", d), "0+$", ""), "\\.$", "")
    s = F.when((d == F.floor(d)) & (F.abs(d) < 1e18), d.cast("decimal(38,0)").cast("string")).otherwise(frac)
    return F.when(s == "-0", F.lit("0")).otherwise(s)


CMP = {
    "==": lambda a, b: a == b,
    "!=": lambda a, b: a != b,
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
}


def where_cmp(c, op, number, text):
    """where: numeric when both sides read as numbers, else text by bytes;
    a missing field fails every test but !=."""
    n = num(c)
    by_text = CMP[op](txt(c), F.lit(text))
    test = by_text if number is None else F.when(n.isNotNull(), CMP[op](n, F.lit(float(number)))).otherwise(by_text)
    return F.when(c.isNull(), F.lit(op == "!=")).otherwise(test)


def where_match(c, pattern, negate):
    hit = txt(c).rlike(pattern)
    return F.when(c.isNull(), F.lit(negate)).otherwise(~hit if negate else hit)


def json_ddl(paths, leaf):
    """A from_json schema holding each path (a list of keys) as `leaf`."""
    tree = {}
    for parts in paths:
        node = tree
        for p in parts[:-1]:
            node = node.setdefault(p, {})
            if not isinstance(node, dict):
                break
        else:
            node.setdefault(parts[-1], None)

    def ddl(node):
        return ", ".join(
            "`%s`: %s" % (k.replace("`", "``"), leaf if v is None else "STRUCT<%s>" % ddl(v)) for k, v in node.items()
        )

    return "STRUCT<%s>" % ddl(tree)


def json_fields(t, paths):
    """json: the fields the chain reads, typed as spate types them (an
    integer, a float, a boolean, text, or a nested object as its JSON), from
    one from_json per type; null when the line is not a JSON object."""
    opts = {"allowNonNumericNumbers": "false", "allowNumericLeadingZeros": "false"}
    by = {leaf: F.from_json(t, json_ddl(paths, leaf), opts) for leaf in ("STRING", "BIGINT", "DOUBLE", "BOOLEAN")}
    obj = F.from_json(t, json_ddl(paths, "MAP<STRING,STRING>"))
    arr = F.from_json(t, json_ddl(paths, "ARRAY<STRING>"))
    valid = F.from_json(t, "MAP<STRING,STRING>").isNotNull()
    fields = []
    for i, parts in enumerate(paths):

        def at(c):
            for p in parts:
                c = c.getField(p)
            return c

        s, i64, d, b = at(by["STRING"]), at(by["BIGINT"]), at(by["DOUBLE"]), at(by["BOOLEAN"])
        kind = (
            F.when(i64.isNotNull(), F.lit("i"))
            .when(d.isNotNull(), F.lit("f"))
            .when(b.isNotNull(), F.lit("b"))
            .when(at(obj).isNotNull() | at(arr).isNotNull(), F.lit("o"))
            .when(s.isNotNull(), F.lit("q"))
        )
        text = F.when(kind == "i", i64.cast("string")).when(kind == "f", float_text(d)).otherwise(s)
        number = F.when(kind == "i", i64.cast("double")).when(kind == "f", d)
        value = F.when(kind.isNotNull(), F.struct(text.alias("t"), kind.alias("k"), number.alias("n")))
        fields.append(value.alias("v%d" % i))
    return F.when(valid, F.struct(*fields))


def csv_values(t, delim):
    """csv: one record's values (RFC 4180 quotes; a quote inside an
    unquoted value is kept)."""
    d = re.escape(delim)
    pattern = '(?:^|%s)("(?:[^"]|"")*"(?=%s|$)|[^%s]*)' % (d, d, d)
    raw = F.regexp_extract_all(t, F.lit(pattern), 1)
    return F.transform(
        raw,
        lambda v: F.when(v.startswith('"'), F.regexp_replace(v.substr(F.lit(2), F.length(v) - 2), '""', '"')).otherwise(v),
    )


LOGFMT_PAIR = r'([^\s="]+)(?:=("(?:[^"\\]|\\.)*"|\S*))?'


def logfmt_pairs(t):
    """logfmt: the line's pairs as a map (a key seen twice keeps its last
    value); null for a line with no key=value pair."""
    keys = F.regexp_extract_all(t, F.lit(LOGFMT_PAIR), 1)
    values = F.regexp_extract_all(t, F.lit(LOGFMT_PAIR), 2)
    return F.when(t.rlike(r'(^|\s)[^\s="]+='), F.map_from_arrays(keys, values))


def logfmt_value(pairs, key):
    v = F.element_at(pairs, F.lit(key))
    inner = v.substr(F.lit(2), F.length(v) - 2)
    unescaped = F.from_json(F.concat(F.lit('{"v":'), v, F.lit("}")), "v STRING").getField("v")
    return text_value(F.when(v.startswith('"'), F.coalesce(unescaped, inner)).otherwise(v))


ISO_TS = r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt ][0-9]{2}:[0-9]{2}:[0-9]{2}(?:[.,][0-9]{1,9})?(?:[Zz]|[+-][0-9]{2}(?::?[0-9]{2})?| [+-][0-9]{2}:?[0-9]{2})?"
CLF_TS = r"[0-9]{2}/(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)/[0-9]{4}:[0-9]{2}:[0-9]{2}:[0-9]{2}(?: [+-][0-9]{4})?"
EPOCH_TS = r"[0-9]{10}(?:\.[0-9]+)?|[0-9]{13}"
ANY_TS = r"(?<![0-9])(?:%s|%s)(?![0-9])|(?<![A-Za-z0-9]|[0-9]\.)(?:%s)(?![A-Za-z0-9])" % (ISO_TS, CLF_TS, EPOCH_TS)


def parse_ts(t):
    """A field's text as a timestamp, in the formats spate reads."""
    t = F.regexp_replace(F.trim(t), "^[\\[(\"']|[\\])\"']$", "")
    iso = F.upper(F.regexp_replace(t, "(:[0-9]{2}),([0-9])", "$1.$2"))
    return (
        F.when(t.rlike("^(?:%s)$" % ISO_TS), iso.cast("timestamp"))
        .when(t.rlike(r"^[0-9]{10}(\.[0-9]+)?$"), F.timestamp_seconds(t.cast("decimal(30,9)")))
        .when(t.rlike(r"^[0-9]{13}$"), F.timestamp_millis(t.cast("long")))
        .when(t.rlike(r" [+-][0-9]{4}$"), F.to_timestamp(t, "dd/MMM/yyyy:HH:mm:ss Z"))
        .when(t.rlike("^(?:%s)$" % CLF_TS), F.to_timestamp(t, "dd/MMM/yyyy:HH:mm:ss"))
    )


def find_ts(line):
    """--event-time auto: the first timestamp in the raw line."""
    return parse_ts(F.regexp_extract(line, ANY_TS, 0))


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


def collect_windows(df):
    """Rows of a windowed aggregation, grouped by window end, in order."""
    by_end = {}
    for r in df.collect():
        by_end.setdefault(r["__end"], []).append(r)
    return sorted(by_end.items())


def agg_rows(rs):
    """An aggregation's rows in its order; a global aggregation of an empty
    batch has no row."""
    return order_rows([agg_row(r) for r in rs if r["__n"]])


def emit_windows(printer, groups):
    for end, rs in groups:
        printer.batch(end, finish(agg_rows(rs)))


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
        emit_windows(printer, collect_windows(aggregate(df, [F.window("__ts", *WINDOW_ARGS)])))
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
    if EVENT_TIME:
        df = df.filter(F.col("__ts").isNotNull()).withWatermark("__ts", LATENESS)
        agg = aggregate(df, [F.window("__ts", *WINDOW_ARGS)])

        def each(batch, _id):
            emit_windows(printer, collect_windows(batch))

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
