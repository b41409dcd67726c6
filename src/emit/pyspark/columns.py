# ---------------------------------------------------------------------------
# The Spark expressions the operators use: the same in every program spate
# emits. A field is a column of type FIELD (its text, kind and number), so
# that the per-record operators keep spate's rules on Spark's executors.
# ---------------------------------------------------------------------------

FIELD = "struct<t:string,k:string,n:double>"
# text that reads as a number (value.rs parse_num); \z, not $, which
# Java lets match before a last line break
NUM_SQL = r"^[ \t]*[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?[ \t]*\z"
# 2^63: below it an integral float converts to a long exactly
I64_LIMIT = 9223372036854775808.0


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


def finite(x):
    return x.isNotNull() & ~F.isnan(x) & (F.abs(x) != float("inf"))


def num(c):
    """A field as a number: a JSON number, or text that reads as one (a
    finite one: 1e999 is no number)."""
    t = c.getField("t")
    n = F.when(t.rlike(NUM_SQL), F.regexp_replace(t, "^[ \t]+|[ \t]+$", "").cast("double"))
    return F.coalesce(c.getField("n"), F.when(finite(n), n))


def float_text(d):
    """spate's text of a float (numfmt::write_float), exactly: an integral
    value as its integer below 1e21 (as Python's repr above it), any other
    rounded to 6 decimals half to even on its exact binary value, trailing
    zeros dropped, never -0. Spark's format_string and format_number round
    the shortest decimal digits instead (0.0078125 would print 0.007813), so
    the fraction is rounded here: f * 10^6 is y + e exactly (Dekker's
    product, 10^6 needing no split), and the sign of y - floor(y) - 0.5 + e
    says which way."""
    a = F.abs(d)
    i = F.floor(a)
    f = a - i
    y = f * 1e6
    c = f * 134217729.0
    fh = c - (c - f)
    e = (fh * 1e6 - y) + (f - fh) * 1e6
    n = F.floor(y)
    s = ((y - n) - 0.5) + e
    q = n + F.when((s > 0) | ((s == 0) & (n % 2 == 1)), 1).otherwise(0)
    whole = i + F.when(q >= 1000000, 1).otherwise(0)
    frac = q % 1000000
    digits = F.regexp_replace(F.lpad(frac.cast("string"), 6, "0"), "0+$", "")
    body = F.when(frac == 0, whole.cast("string")).otherwise(F.concat(whole.cast("string"), F.lit("."), digits))
    sign = F.when((d < 0) & ((whole != 0) | (frac != 0)), "-").otherwise("")
    # an integral float from 2^63 up is a multiple of 2^11: d / 2048 is exact
    big = ((d / 2048).cast("bigint").cast("decimal(38,0)") * F.lit(2048).cast("decimal(38,0)")).cast("string")
    huge = F.regexp_replace(d.cast("string"), "^(-?[0-9]+)(?:\\.0|(\\.[0-9]+))E([0-9]+)$", "$1$2e+$3")
    whole_text = F.when(a < I64_LIMIT, d.cast("bigint").cast("string")).when(a < 1e21, big).otherwise(huge)
    return F.when(d % 1.0 == 0, whole_text).otherwise(F.concat(sign, body))


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


def table_cells(line, delim, where):
    """One line of a join table cut into values, as spate's csv reads a
    line: a value that starts with a quote ends at a quote followed by the
    delimiter or the end of the line ("" inside is one quote); a quote
    elsewhere is an ordinary character."""
    cells = []
    i, n = 0, len(line)
    while True:
        if not line.startswith('"', i):
            k = line.find(delim, i)
            if k < 0:
                cells.append(line[i:])
                return cells
            cells.append(line[i:k])
            i = k + 1
            continue
        j, parts = i + 1, []
        while True:
            q = line.find('"', j)
            if q < 0:
                raise ValueError("%s: unterminated quoted value starting at column %d" % (where, i + 1))
            if line.startswith('"', q + 1):
                parts.append(line[j:q + 1])
                j = q + 2
            else:
                break
        parts.append(line[j:q])
        cells.append("".join(parts))
        i = q + 1
        if i == n:
            return cells
        if line[i] != delim:
            raise ValueError("%s: text after the closing quote at column %d" % (where, i + 1))
        i += 1


def no_constant(c):
    raise ValueError("%s is not JSON" % c)


def read_table(path, fmt, column):
    """join's lookup table as spate reads it: {key: row}, a row being the
    other columns as (name, value) pairs in the file's order, the key the
    text the key column prints as; of rows with one key the last wins, a
    row without the key (or with a null one) is left out. CSV and TSV have
    a header line (an empty name is the column's position, a value past
    the header is named by its position, the last of repeated names wins)
    and text values; JSON lines keep their types, and COLUMN may be a
    dotted path."""
    with open(path, "rb") as f:
        text = f.read().decode("utf-8", errors="replace")
    if text.startswith("\ufeff"):
        text = text[1:]
    lines = [(n, l[:-1] if l.endswith("\r") else l) for n, l in enumerate(text.split("\n"))]
    lines = [(n, l) for n, l in lines if l.strip()]
    table = {}
    if fmt == "jsonl":
        for n, line in lines:
            where = "%s line %d" % (path, n + 1)
            try:
                obj = json.loads(line, parse_constant=no_constant)
            except ValueError as e:
                raise ValueError("%s: invalid JSON: %s" % (where, e))
            if not isinstance(obj, dict):
                raise ValueError("%s: not a JSON object" % where)
            row = [(k, json_to_value(v)) for k, v in obj.items()]
            key = lookup(row, column)
            if key is None or key[0] is None:
                continue
            table[text_of(key)] = [(k, v) for k, v in row if k != column]
        return table
    delim = "\t" if fmt == "tsv" else ","
    if not lines:
        raise ValueError("%s: empty; a lookup table needs a header line naming its columns" % path)
    n, header = lines[0]
    names = []
    for v in table_cells(header, delim, "%s line %d" % (path, n + 1)):
        names.append(v if v else str(len(names) + 1))
    if column not in names:
        raise ValueError("%s: no column '%s' in its header (its columns: %s)" % (path, column, ", ".join(names)))
    for n, line in lines[1:]:
        row, key = {}, None
        for i, v in enumerate(table_cells(line, delim, "%s line %d" % (path, n + 1))):
            name = names[i] if i < len(names) else str(i + 1)
            if name == column:
                key = v
            else:
                row[name] = ("s", v)
        if key is not None:
            table[key] = list(row.items())
    return table


def field_struct(v):
    """A value as a field column's struct (text, kind, number)."""
    if v is None or v[0] is None:
        return None
    kind, x = v
    if kind == "i":
        return (str(x), "i", float(x))
    if kind == "f":
        return (fmt_float(x), "f", x)
    if kind == "b":
        return ("true" if x else "false", "b", None)
    return (x, kind, None)


def join_table(df, key, path, fmt, column, names, drop):
    """join: the table read once, on the driver, now (when the job
    starts), as a broadcast DataFrame of its key and, for each of `names`
    (the fields the chain reads), the row's value (__jv0, __jv1, ...);
    the records join it on the text their key field prints as, left outer
    (keep) or inner (drop). A record without the field matches no row."""
    rows = [
        tuple([k] + [field_struct(lookup(row, name)) for name in names])
        for k, row in read_table(path, fmt, column).items()
    ]
    schema = ", ".join(["`__jk` STRING"] + ["`__jv%d` %s" % (i, FIELD) for i in range(len(names))])
    table = df.sparkSession.createDataFrame(rows, schema)
    df = df.withColumn("__jkey", F.when(key.isNotNull(), txt(key)))
    df = df.join(F.broadcast(table), F.col("__jkey") == F.col("__jk"), "inner" if drop else "left")
    return df.drop("__jkey", "__jk")


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


