/* One-pass parser of CSV blocks of whole numbers 0..255 (netdoctor.data.csvparse's compiled path).
 *
 * scan(src, start, out, ncols) reads ``src[start:]``: whole lines of fields of
 * 1 to 3 ASCII digits separated by commas, each line ending with LF or CRLF
 * (so the last byte of ``src`` is LF), and writes the values, row after row, into the
 * writable byte buffer ``out``. ``ncols`` is the number of fields a line must
 * have (0: the first line's count). It returns ``(rows, ncols)``, -1 where
 * the block is not such a CSV (an empty field, a fourth digit, a value over
 * 255, any other byte, a CR not before LF, lines of different lengths: the
 * NumPy parser declines exactly these, and the general parser then reads the
 * numbers or names the bad cell), or -2 when ``out`` has no room for all the
 * values (the caller grows it and calls again).
 *
 * The 3 bytes before ``start`` must not be digits (the 16-byte groups look
 * 3 bytes back; the NumPy parser pads its blocks with commas the same way).
 * It only reads bytes and writes bytes (the buffer protocol, no NumPy C API),
 * and releases the GIL while it scans.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#define DECLINE (-1)
#define NO_ROOM (-2)
#define LINE_DONE 1

/* Where a scan is: the next field's first byte, the next value's place, the row being filled. */
typedef struct {
    const unsigned char *p, *end;
    unsigned char *o, *o_end, *row_start;
    Py_ssize_t want, rows;
} Scan;

/* A row ends at s->o: its length is the first row's, or DECLINE. */
static int
end_row(Scan *s, unsigned char *row_end)
{
    if (s->want == 0)
        s->want = row_end - s->row_start;
    else if (row_end - s->row_start != s->want)
        return DECLINE;  /* a line of another length */
    s->row_start = row_end;
    s->rows++;
    return 0;
}

/* Fields one byte at a time up to and with the next line end: LINE_DONE, DECLINE or NO_ROOM. */
static int
scan_line(Scan *s)
{
    const unsigned char *p = s->p;
    for (;;) {
        unsigned v = (unsigned)p[0] - '0';
        unsigned d;
        if (v > 9)
            return DECLINE;  /* an empty field, a blank line or another byte */
        d = (unsigned)p[1] - '0';
        if (d <= 9) {
            v = 10 * v + d;
            d = (unsigned)p[2] - '0';
            if (d <= 9) {
                v = 10 * v + d;
                if ((unsigned)p[3] - '0' <= 9 || v > 255)
                    return DECLINE;  /* four digits in a row, or a value over 255 */
                p += 3;
            } else {
                p += 2;
            }
        } else {
            p += 1;
        }
        if (s->o == s->o_end)
            return NO_ROOM;
        *s->o++ = (unsigned char)v;
        if (*p == ',') {
            p++;
            continue;
        }
        if (*p == '\r') {
            p++;
            if (*p != '\n')
                return DECLINE;  /* a bare CR */
        }
        if (*p != '\n')
            return DECLINE;
        s->p = p + 1;
        return end_row(s, s->o) ? DECLINE : LINE_DONE;
    }
}

#if (defined(__GNUC__) || defined(__clang__)) && (defined(__x86_64__) || defined(__i386__))
#define HAVE_SIMD 1
#include <immintrin.h>

/* COMPRESS[m]: the places of the set bits of the byte m, in order (a pshufb control). */
static unsigned char COMPRESS[256][8];
static int width_max, width;  /* the widest groups this CPU takes, and the width in use (0: byte by byte) */

/* The values at the separators of 16 bytes at q (mask m; line ends nlm) into the output, the rows they end checked.
 * A valid group of 16 bytes holds a separator: no field has 4 digits. */
__attribute__((target("ssse3,popcnt"))) static inline int
emit16(Scan *s, const unsigned char *q, __m128i val, unsigned m, unsigned nlm, unsigned char **op)
{
    unsigned char *o = *op, *group_o = o;
    unsigned lo = m & 0xff, hi = m >> 8;
    _mm_storel_epi64((__m128i *)o, _mm_shuffle_epi8(val, _mm_loadl_epi64((const __m128i *)COMPRESS[lo])));
    o += _mm_popcnt_u32(lo);
    _mm_storel_epi64((__m128i *)o, _mm_shuffle_epi8(val, _mm_add_epi8(_mm_loadl_epi64((const __m128i *)COMPRESS[hi]),
                                                                      _mm_set1_epi8(8))));
    o += _mm_popcnt_u32(hi);
    while (nlm) {  /* about one line end in a hundred groups */
        unsigned b = (unsigned)__builtin_ctz(nlm);
        if (end_row(s, group_o + _mm_popcnt_u32(m & ((2u << b) - 1))))
            return DECLINE;
        nlm &= nlm - 1;
    }
    s->p = q + (31 - __builtin_clz(m)) + 1;
    s->o = *op = o;
    return 0;
}

/* 16 bytes at a time (SSSE3): the value of the field ending at each byte, kept at the separators.
 *
 * With x the digit values of the bytes 1, 2 and 3 before a separator, its
 * field is 100 x3 + 10 x2 + x1, where a missing digit (a short field) is
 * masked out; all of it in byte lanes (the hundreds clamped to 3, so nothing
 * crosses a lane; a field over 255 has hundreds over 2, or 2 and tens and
 * units over 55). The separators' mask compresses the values into the output
 * (two pshufb of 8 bytes). A group with anything else (a CR, an empty field,
 * a fourth digit, a value over 255) stops the loop before it, at the start of
 * a field: scan_line then reads, or declines, that line. Needs 3 readable
 * bytes before s->p. scan_groups32 is the same with AVX2, 32 bytes at a time.
 */
__attribute__((target("ssse3,popcnt"))) static int
scan_groups16(Scan *s)
{
    const unsigned char *q = s->p, *last = s->end - 16;
    unsigned char *o = s->o, *o_last = s->o_end - 16;
    const __m128i zero_ch = _mm_set1_epi8('0'), nine = _mm_set1_epi8(9), comma = _mm_set1_epi8(','),
                  newline = _mm_set1_epi8('\n'), two = _mm_set1_epi8(2), three = _mm_set1_epi8(3),
                  fifty_five = _mm_set1_epi8(55);

    for (; q <= last && o <= o_last; q += 16) {
        __m128i c0 = _mm_loadu_si128((const __m128i *)q), c1 = _mm_loadu_si128((const __m128i *)(q - 1)),
                c2 = _mm_loadu_si128((const __m128i *)(q - 2)), c3 = _mm_loadu_si128((const __m128i *)(q - 3));
        __m128i x0 = _mm_sub_epi8(c0, zero_ch), x1 = _mm_sub_epi8(c1, zero_ch), x2 = _mm_sub_epi8(c2, zero_ch),
                x3 = _mm_sub_epi8(c3, zero_ch);
        __m128i d0 = _mm_cmpeq_epi8(_mm_min_epu8(x0, nine), x0), d1 = _mm_cmpeq_epi8(_mm_min_epu8(x1, nine), x1),
                d2 = _mm_cmpeq_epi8(_mm_min_epu8(x2, nine), x2), d3 = _mm_cmpeq_epi8(_mm_min_epu8(x3, nine), x3);
        __m128i nl = _mm_cmpeq_epi8(c0, newline), sep = _mm_or_si128(_mm_cmpeq_epi8(c0, comma), nl);
        __m128i t = _mm_and_si128(x2, d2), h = _mm_min_epu8(_mm_and_si128(x3, _mm_and_si128(d3, d2)), three);
        /* tens and units (<= 99 at a separator): 8t + 2t + x1; the hundreds times 64 + 32 + 4 */
        __m128i tu = _mm_add_epi8(_mm_add_epi8(_mm_slli_epi16(t, 3), _mm_add_epi8(t, t)), x1);
        __m128i val = _mm_add_epi8(tu, _mm_add_epi8(_mm_add_epi8(_mm_slli_epi16(h, 6), _mm_slli_epi16(h, 5)),
                                                    _mm_slli_epi16(h, 2)));
        __m128i over = _mm_or_si128(_mm_cmpeq_epi8(h, three),
                                    _mm_and_si128(_mm_cmpeq_epi8(h, two), _mm_cmpgt_epi8(tu, fifty_five)));
        /* bad: another byte; a separator after a non-digit (an empty field); four digits; a value over 255 */
        __m128i bad = _mm_or_si128(_mm_andnot_si128(_mm_or_si128(d0, sep), _mm_cmpeq_epi8(c0, c0)),
                                   _mm_and_si128(sep, _mm_or_si128(_mm_andnot_si128(d1, sep), over)));
        bad = _mm_or_si128(bad, _mm_and_si128(_mm_and_si128(d0, d1), _mm_and_si128(d2, d3)));
        if (_mm_movemask_epi8(bad))
            break;
        if (emit16(s, q, val, (unsigned)_mm_movemask_epi8(sep), (unsigned)_mm_movemask_epi8(nl), &o))
            return DECLINE;
    }
    return 0;
}

__attribute__((target("avx2,popcnt"))) static int
scan_groups32(Scan *s)
{
    const unsigned char *q = s->p, *last = s->end - 32;
    unsigned char *o = s->o, *o_last = s->o_end - 32;
    const __m256i zero_ch = _mm256_set1_epi8('0'), nine = _mm256_set1_epi8(9), comma = _mm256_set1_epi8(','),
                  newline = _mm256_set1_epi8('\n'), two = _mm256_set1_epi8(2), three = _mm256_set1_epi8(3),
                  fifty_five = _mm256_set1_epi8(55);

    for (; q <= last && o <= o_last; q += 32) {
        __m256i c0 = _mm256_loadu_si256((const __m256i *)q), c1 = _mm256_loadu_si256((const __m256i *)(q - 1)),
                c2 = _mm256_loadu_si256((const __m256i *)(q - 2)), c3 = _mm256_loadu_si256((const __m256i *)(q - 3));
        __m256i x0 = _mm256_sub_epi8(c0, zero_ch), x1 = _mm256_sub_epi8(c1, zero_ch),
                x2 = _mm256_sub_epi8(c2, zero_ch), x3 = _mm256_sub_epi8(c3, zero_ch);
        __m256i d0 = _mm256_cmpeq_epi8(_mm256_min_epu8(x0, nine), x0),
                d1 = _mm256_cmpeq_epi8(_mm256_min_epu8(x1, nine), x1),
                d2 = _mm256_cmpeq_epi8(_mm256_min_epu8(x2, nine), x2),
                d3 = _mm256_cmpeq_epi8(_mm256_min_epu8(x3, nine), x3);
        __m256i nl = _mm256_cmpeq_epi8(c0, newline), sep = _mm256_or_si256(_mm256_cmpeq_epi8(c0, comma), nl);
        __m256i t = _mm256_and_si256(x2, d2),
                h = _mm256_min_epu8(_mm256_and_si256(x3, _mm256_and_si256(d3, d2)), three);
        __m256i tu = _mm256_add_epi8(_mm256_add_epi8(_mm256_slli_epi16(t, 3), _mm256_add_epi8(t, t)), x1);
        __m256i val = _mm256_add_epi8(
            tu, _mm256_add_epi8(_mm256_add_epi8(_mm256_slli_epi16(h, 6), _mm256_slli_epi16(h, 5)),
                                _mm256_slli_epi16(h, 2)));
        __m256i over = _mm256_or_si256(
            _mm256_cmpeq_epi8(h, three),
            _mm256_and_si256(_mm256_cmpeq_epi8(h, two), _mm256_cmpgt_epi8(tu, fifty_five)));
        __m256i bad = _mm256_or_si256(_mm256_andnot_si256(_mm256_or_si256(d0, sep), _mm256_cmpeq_epi8(c0, c0)),
                                      _mm256_and_si256(sep, _mm256_or_si256(_mm256_andnot_si256(d1, sep), over)));
        unsigned m, nlm;
        bad = _mm256_or_si256(bad, _mm256_and_si256(_mm256_and_si256(d0, d1), _mm256_and_si256(d2, d3)));
        if (_mm256_movemask_epi8(bad))
            break;
        m = (unsigned)_mm256_movemask_epi8(sep);
        nlm = (unsigned)_mm256_movemask_epi8(nl);
        if (emit16(s, q, _mm256_castsi256_si128(val), m & 0xffff, nlm & 0xffff, &o)
            || emit16(s, q + 16, _mm256_extracti128_si256(val, 1), m >> 16, nlm >> 16, &o))
            return DECLINE;
    }
    return 0;
}
#endif

/* Rows parsed, or DECLINE / NO_ROOM; *ncols is in (0: unknown) and out. Needs 3 readable bytes before p. */
static Py_ssize_t
scan_block(const unsigned char *p, Py_ssize_t n, unsigned char *out, Py_ssize_t cap, Py_ssize_t *ncols)
{
    Scan s = {p, p + n, out, out + cap, out, *ncols, 0};

    if (n == 0 || p[n - 1] != '\n')
        return DECLINE;  /* every digit loop stops at the final LF */
    while (s.p < s.end) {
        int got;
#ifdef HAVE_SIMD
        if (width && (width == 32 ? scan_groups32(&s) : scan_groups16(&s)) == DECLINE)
            return DECLINE;
        if (s.p >= s.end)
            break;
#endif
        got = scan_line(&s);
        if (got != LINE_DONE)
            return got;
    }
    *ncols = s.want;
    return s.rows;
}

static PyObject *
scan(PyObject *self, PyObject *args)
{
    Py_buffer src, out;
    Py_ssize_t start, ncols, rows, i;
    const unsigned char *b;

    (void)self;
    if (!PyArg_ParseTuple(args, "y*nw*n:scan", &src, &start, &out, &ncols))
        return NULL;
    b = (const unsigned char *)src.buf;
    for (i = start - 3; i >= 0 && i < start && i < src.len && b[i] - (unsigned)'0' > 9; i++)
        ;
    if (ncols < 0 || start < 3 || start > src.len || i != start) {
        PyBuffer_Release(&src);
        PyBuffer_Release(&out);
        PyErr_SetString(PyExc_ValueError, "scan needs ncols >= 0 and 3 bytes that are not digits before start");
        return NULL;
    }
    Py_BEGIN_ALLOW_THREADS
    rows = scan_block(b + start, src.len - start, (unsigned char *)out.buf, out.len, &ncols);
    Py_END_ALLOW_THREADS
    PyBuffer_Release(&src);
    PyBuffer_Release(&out);
    if (rows < 0)
        return PyLong_FromSsize_t(rows);
    return Py_BuildValue("(nn)", rows, ncols);
}

static PyObject *
group_width(PyObject *self, PyObject *args)
{
    int asked = -1, was = 0;

    (void)self;
    if (!PyArg_ParseTuple(args, "|i:group_width", &asked))
        return NULL;
#ifdef HAVE_SIMD
    was = width;
    if (asked >= 0)
        width = asked >= 32 ? width_max : asked >= 16 && width_max ? 16 : 0;
#endif
    return PyLong_FromLong(was);
}

static PyMethodDef methods[] = {
    {"scan", scan, METH_VARARGS,
     "scan(src, start, out, ncols) -> (rows, ncols), -1 (not plain 0..255 CSV) or -2 (out is too small)"},
    {"group_width", group_width, METH_VARARGS,
     "group_width([bytes]) -> the bytes scanned at a time before the call (0: byte by byte); with an argument, "
     "scan 32 (AVX2), 16 (SSSE3) or 0 at a time from now on, as far as the CPU can (tests compare them)"},
    {NULL, NULL, 0, NULL},
};

/* The stamp of this file that setup.py compiles in (NETDOCTOR_SOURCE, the first 16 hex digits of its SHA-256): the
 * module's SOURCE, which netdoctor/_lazy.py compares with the source beside the built part. A build without it (not
 * made by setup.py) has SOURCE "" and is not used where its source is at hand. */
#define NETDOCTOR_STR(x) #x
#define NETDOCTOR_XSTR(x) NETDOCTOR_STR(x)
#ifdef NETDOCTOR_SOURCE
#define NETDOCTOR_SOURCE_TEXT NETDOCTOR_XSTR(NETDOCTOR_SOURCE)
#else
#define NETDOCTOR_SOURCE_TEXT ""
#endif

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_csvscan", "One-pass parser of CSV blocks of whole numbers 0..255.", -1, methods,
    NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC
PyInit__csvscan(void)
{
#ifdef HAVE_SIMD
    unsigned m, b;
    for (m = 0; m < 256; m++) {
        unsigned k = 0;
        for (b = 0; b < 8; b++)
            if (m & (1u << b))
                COMPRESS[m][k++] = (unsigned char)b;
        while (k < 8)
            COMPRESS[m][k++] = 0x80;  /* pshufb writes 0 */
    }
    __builtin_cpu_init();
    if (__builtin_cpu_supports("ssse3") && __builtin_cpu_supports("popcnt"))
        width_max = __builtin_cpu_supports("avx2") ? 32 : 16;
    width = width_max;
#endif
    PyObject *made = PyModule_Create(&module);
    if (made != NULL && PyModule_AddStringConstant(made, "SOURCE", NETDOCTOR_SOURCE_TEXT) < 0) {
        Py_DECREF(made);
        return NULL;
    }
    return made;
}
