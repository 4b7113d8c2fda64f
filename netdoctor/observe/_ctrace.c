/* The call filter under netdoctor's tracer (netdoctor/observe/tracer.py): a trace function in C.
 *
 * `sys.settrace(f)` makes CPython call the Python function `f` at the call of
 * every Python function, the standard library's and NumPy's included, even
 * when `f` answers None at once. A CallFilter is installed with
 * `PyEval_SetTrace` instead and decides in C, from a mark the Python side
 * leaves in the code object (its "extra" slot, PEP 523), whether a call can
 * interest the tracer at all: a call of code marked as not the user's (a
 * library's, a comprehension, a function classified as uninteresting) ends
 * here. A line event of a frame whose local trace function is the tracer's
 * CallTracer._local, at a line that starts no loop iteration of its code (the
 * code's loop heads, registered by the Python side as a bitmap in a second
 * extra slot), ends here too: _local does nothing with such a line in a frame
 * it follows (a module-level loop has a line event at every line of its body,
 * and only its loop heads matter). Every other event goes where `sys.settrace` would send it: a call to
 * the Python trace function given to the filter (CallTracer._global), any
 * other event (line, return, exception, opcode) to the frame's own local
 * trace function `frame.f_trace`, with the result stored back as
 * `frame.f_trace` exactly as CPython's trampoline (sysmodule.c,
 * trace_trampoline and call_trampoline) does. So the Python side sees the
 * same events, in the same order, as under `sys.settrace`.
 *
 * `sys.gettrace()` returns the filter object. It is callable like a Python
 * trace function: `sys.settrace(sys.gettrace())` (code that saves and
 * restores the trace function) or `threading.settrace(filter)` (a new
 * thread) installs CPython's trampoline around it, and its first call event
 * puts the filter itself back with `PyEval_SetTrace` (as coverage.py's
 * CTracer does).
 *
 * The frame layout is CPython 3.11's (internal/pycore_frame.h): other versions
 * build a module whose SUPPORTED is False, and netdoctor uses its pure-Python
 * tracer there (3.12 and later would rather use sys.monitoring).
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <math.h>
#include <frameobject.h>
#include <structmember.h>

#define CTRACE_API 6 /* bumped when the Python side's expectations change (tracer.py checks it) */

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

static PyObject *ndarray_type = NULL; /* owned: numpy.ndarray (set_fingerprint) */

/* An array's head and the start of its dtype's (numpy/ndarraytypes.h: PyArrayObject_fields, PyArray_Descr; the same
 * in NumPy 1 and 2 up to the fields read here), read without NumPy's headers and without the buffer protocol (whose
 * export costs ~0.5 us an array, more than the reading itself). Trusted only once set_fingerprint has checked it
 * against what NumPy says of a few arrays (heads_trusted); else the buffer protocol is used. */
typedef struct {
    PyObject_HEAD
    char *data;
    int nd;
    Py_intptr_t *dimensions;
    Py_intptr_t *strides;
    PyObject *base;
    PyObject *descr;
} ArrayFields;

typedef struct {
    PyObject_HEAD
    PyTypeObject *typeobj;
    char kind;
    char type;
} DescrStart;

static int heads_trusted = 0;

/* The size in bytes of an entry of a dtype of these type characters (floats, and the C longs of an index), 0 for any
 * other: the entry size's own field moved between NumPy 1 and 2. */
static Py_ssize_t
entry_size(char type)
{
    switch (type) {
    case 'e': return 2;
    case 'f': return 4;
    case 'd': return 8;
    case 'g': return (Py_ssize_t)sizeof(long double);
    case 'l': return (Py_ssize_t)sizeof(long);
    case 'q': return 8;
    default: return 0;
    }
}

/* Whether the entries of `a` lie in C order `item` bytes apart: its strides are a C-contiguous array's (a dimension
 * of one entry may have any stride: its index is always 0). Then the entry at flat position q is q * item bytes in. */
static int
c_ordered(ArrayFields *a, Py_ssize_t item)
{
    Py_ssize_t expect = item;
    for (int d = a->nd - 1; d >= 0; d--) {
        if (a->dimensions[d] != 1 && a->strides[d] != expect) {
            return 0;
        }
        expect *= a->dimensions[d];
    }
    return 1;
}

/* The byte offsets into `a`'s data of the entries at flat C-order positions pos[0..k) (k <= SCAN_ENTRIES), into off;
 * 0 when a position is out of range. The offsets of an array in C order are the positions times the entry size; of
 * another (a column slice of a data set) a division per dimension each, which cost most of a scan (0.5 us of 16
 * entries of a 2-d array, discovery's scans of the forum program: 14,000 of 33 arrays each). */
static int
entry_offsets(ArrayFields *a, Py_ssize_t item, const long *pos, Py_ssize_t k, Py_ssize_t *off)
{
    Py_ssize_t size = 1;
    for (int d = 0; d < a->nd; d++) {
        size *= a->dimensions[d];
    }
    for (Py_ssize_t i = 0; i < k; i++) {
        if (pos[i] < 0 || pos[i] >= size) {
            return 0;
        }
    }
    if (c_ordered(a, item)) {
        for (Py_ssize_t i = 0; i < k; i++) {
            off[i] = pos[i] * item;
        }
        return 1;
    }
    for (Py_ssize_t i = 0; i < k; i++) {
        Py_ssize_t q = pos[i], o = 0;
        for (int d = a->nd - 1; d >= 0; d--) {
            o += (q % a->dimensions[d]) * a->strides[d];
            q /= a->dimensions[d];
        }
        off[i] = o;
    }
    return 1;
}

#define SCAN_ENTRIES 64 /* positions read at once through entry_offsets (discovery samples 16 an array) */

/* The bytes of the entries of `a` (an exact ndarray, head trusted) at flat C-order positions pos[0..k) into dst;
 * 0 when a position is out of range. */
static int
copy_entries(ArrayFields *a, Py_ssize_t item, const long *pos, Py_ssize_t k, char *dst)
{
    Py_ssize_t off[SCAN_ENTRIES];
    for (Py_ssize_t start = 0; start < k; start += SCAN_ENTRIES) {
        Py_ssize_t n = k - start < SCAN_ENTRIES ? k - start : SCAN_ENTRIES;
        if (!entry_offsets(a, item, pos + start, n, off)) {
            return 0;
        }
        for (Py_ssize_t i = 0; i < n; i++) {
            memcpy(dst + (start + i) * item, a->data + off[i], (size_t)item);
        }
    }
    return 1;
}

/* The positions of an index array (an exact ndarray of C longs, 1-d, contiguous), or NULL. */
static const long *
positions(PyObject *idx, Py_ssize_t *k)
{
    if (!heads_trusted || (PyObject *)Py_TYPE(idx) != ndarray_type) {
        return NULL;
    }
    ArrayFields *w = (ArrayFields *)idx;
    DescrStart *wd = (DescrStart *)w->descr;
    if (w->nd != 1 || wd->kind != 'i' || entry_size(wd->type) != (Py_ssize_t)sizeof(long)
        || (w->dimensions[0] > 1 && w->strides[0] != (Py_intptr_t)sizeof(long))) {
        return NULL;
    }
    *k = w->dimensions[0];
    return (const long *)w->data;
}

#if PY_VERSION_HEX >= 0x030B0000 && PY_VERSION_HEX < 0x030C0000
#define CTRACE_SUPPORTED 1
#include <internal/pycore_frame.h> /* struct _frame: f_trace, f_fast_as_locals */
#ifndef CO_FAST_LOCAL
#define CO_FAST_LOCAL 0x20 /* internal/pycore_code.h: a plain local variable's kind in co_localspluskinds */
#endif

static Py_ssize_t extra_index = -1; /* our slot in every code object's co_extra: a filter's skip mark */
static Py_ssize_t heads_index = -1; /* a second one: the code's loop heads, a bytes bitmap of line numbers (owned) */
static Py_ssize_t muted_index = -1; /* a third: loop heads whose line events end here while a filter is holding (owned) */
static PyObject *event_names[8];    /* "call", "exception", "line", "return", ..., "opcode" (PyTrace_*) */
static unsigned long next_serial = 1;

#define MAX_DIMS 8
#define MAX_ENTRIES 64

/* One parameter counted in C (CallFilter.count): where it is bound, the array bound there, and the bytes of its
 * fingerprint's entries as last seen. */
typedef struct {
    PyObject *root;  /* owned: where its path starts (a dict, an object) */
    PyObject *steps; /* owned: a tuple of (kind, key): 0 an item of an exact dict, list or tuple, 1 an attribute */
    PyObject *array; /* owned: the array the path led to at the last update counted (or when counting began) */
    PyObject *descr; /* its dtype (borrowed from it): an array re-bound in its place must have the same */
    char *data;      /* the array's head as it was then: any change ends counting */
    int nd;
    Py_intptr_t dims[MAX_DIMS], strides[MAX_DIMS];
    int n, itemsize, quick[3];
    Py_ssize_t offsets[MAX_ENTRIES]; /* of the fingerprint's entries from data, in bytes */
    unsigned char seen[MAX_ENTRIES * 8];
} Counted;

typedef struct {
    PyObject_HEAD
    PyObject *call;  /* the Python trace function that hears call events of unmarked code */
    PyObject *local; /* a bound method: the local trace function whose line events away from loop heads end here */
    uintptr_t mark;  /* what this filter writes in a skipped code object's extra slot */
    char holding;    /* while set, line events at a code's muted loop heads end here too (CallTracer.hold) */
    /* the held step (CallFilter.step): while holding, a call of one of `quiet` beneath a frame of `held` or of
     * `listen` ends here (owned tuples of code objects, and a code object; NULL: none) */
    PyObject *held, *listen, *quiet;
    /* updates counted in C (CallFilter.count): at one loop head of one frame, until any event reaches Python */
    PyObject *counted;      /* called as counted(n, states, fingerprints) before any event reaches Python */
    PyObject *frame;        /* owned: the frame whose loop head counts, or NULL: not counting */
    int line;
    Py_ssize_t limit, pending;
    PyObject *states;       /* owned: a list, the hash of each counted update's fingerprints (or NULL: not kept) */
    PyObject *through;      /* owned tuple of code objects, or NULL: calls the counting frame makes of them end here */
    Py_ssize_t passed;      /* calls of `through` ended here since counting began */
    Py_ssize_t passed_since; /* ... since the last update counted */
    int nparams;
    Counted *params;        /* PyMem */
} CallFilter;

static void
free_heads(void *extra)
{
    Py_XDECREF((PyObject *)extra);
}

/* Whether `line` is set in the bytes bitmap `extra` (NULL: no bitmap). */
static int
bit_set(void *extra, int line)
{
    if (extra == NULL || line <= 0) {
        return 0;
    }
    Py_ssize_t byte = line >> 3;
    if (byte >= PyBytes_GET_SIZE((PyObject *)extra)) {
        return 0;
    }
    return (((const unsigned char *)PyBytes_AS_STRING((PyObject *)extra))[byte] & (1 << (line & 7))) != 0;
}

/* Whether a line event of this frame can end here: its local trace function is the filter's `local` (the same
 * function bound to the same tracer), its code has loop heads registered, and the line is none of them, or, while
 * the filter is holding, one of the heads muted for its code. */
static int
away_from_heads(CallFilter *self, PyFrameObject *frame, PyObject *callback)
{
    if (self->local == NULL || !PyMethod_Check(callback) ||
        PyMethod_GET_FUNCTION(callback) != PyMethod_GET_FUNCTION(self->local) ||
        PyMethod_GET_SELF(callback) != PyMethod_GET_SELF(self->local)) {
        return 0;
    }
    PyCodeObject *code = PyFrame_GetCode(frame);
    void *extra = NULL;
    int got = _PyCode_GetExtra((PyObject *)code, heads_index, &extra);
    Py_DECREF(code);
    if (got < 0) {
        PyErr_Clear();
        return 0;
    }
    if (extra == NULL) {
        return 0;
    }
    int line = frame->f_lineno; /* set by CPython before it calls a trace function */
    if (line <= 0) {
        return 0;
    }
    if (!bit_set(extra, line)) {
        return 1;
    }
    if (!self->holding) {
        return 0;
    }
    void *muted = NULL;
    code = PyFrame_GetCode(frame);
    got = _PyCode_GetExtra((PyObject *)code, muted_index, &muted);
    Py_DECREF(code);
    if (got < 0) {
        PyErr_Clear();
        return 0;
    }
    return bit_set(muted, line);
}

static int
skipped(CallFilter *self, PyCodeObject *code)
{
    void *extra = NULL;
    if (_PyCode_GetExtra((PyObject *)code, extra_index, &extra) < 0) {
        PyErr_Clear();
        return 0;
    }
    return (uintptr_t)extra == self->mark;
}


/* The value bound to the plain local variable `name` of the function running (or returned) in `frame` (borrowed), or
 * NULL: not bound, or a cell or free variable (which frame.f_locals reads through its cell), or no such name. The
 * frame's own slots, as frame.f_locals copies them (PyFrame_FastToLocals), without building that dict. */
static PyObject *
frame_local(PyFrameObject *frame, PyObject *name)
{
    _PyInterpreterFrame *f = frame->f_frame;
    PyCodeObject *code = f->f_code;
    PyObject *names = code->co_localsplusnames;
    for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(names); i++) {
        PyObject *n = PyTuple_GET_ITEM(names, i);
        if (n == name || (PyUnicode_CheckExact(n) && PyUnicode_Compare(n, name) == 0)) {
            unsigned char kind = (unsigned char)PyBytes_AS_STRING(code->co_localspluskinds)[i];
            return kind == CO_FAST_LOCAL ? f->localsplus[i] : NULL;
        }
    }
    return NULL;
}

/* The object one step from `obj` (borrowed), or NULL where C cannot read it without running the program's code: an
 * item of an exact dict (a str key), list or tuple (an int index), an attribute in the instance's own __dict__, or
 * (kind 2, `obj` a frame) a plain local variable of the function running in it (frame_local). */
static PyObject *
step_into(PyObject *obj, PyObject *step)
{
    if (!PyTuple_CheckExact(step) || PyTuple_GET_SIZE(step) != 2) {
        return NULL;
    }
    long kind = PyLong_AsLong(PyTuple_GET_ITEM(step, 0));
    PyObject *key = PyTuple_GET_ITEM(step, 1);
    if (kind == 2) {
        return PyFrame_Check(obj) && PyUnicode_CheckExact(key) ? frame_local((PyFrameObject *)obj, key) : NULL;
    }
    if (kind == 1) {
        if (!PyUnicode_CheckExact(key)) {
            return NULL;
        }
        PyObject **where = _PyObject_GetDictPtr(obj);
        if (where == NULL || *where == NULL) {
            PyErr_Clear();
            return NULL;
        }
        obj = *where;
        kind = 0;
    }
    if (kind != 0) {
        PyErr_Clear();
        return NULL;
    }
    if (PyDict_CheckExact(obj) && PyUnicode_CheckExact(key)) {
        PyObject *found = PyDict_GetItemWithError(obj, key); /* str keys: compared in C */
        if (found == NULL) {
            PyErr_Clear();
        }
        return found;
    }
    if (PyLong_CheckExact(key) && (PyList_CheckExact(obj) || PyTuple_CheckExact(obj))) {
        Py_ssize_t i = PyLong_AsSsize_t(key);
        Py_ssize_t size = PyList_CheckExact(obj) ? PyList_GET_SIZE(obj) : PyTuple_GET_SIZE(obj);
        if (i < 0 || i >= size) {
            PyErr_Clear();
            return NULL;
        }
        return PyList_CheckExact(obj) ? PyList_GET_ITEM(obj, i) : PyTuple_GET_ITEM(obj, i);
    }
    return NULL;
}

/* The array that `steps` (a path as step_into reads it) leads to from `root` (borrowed), with the size of its entries
 * and its sampled positions `idx`, or NULL where the scan cannot read it the way discovery's Python does: no exact
 * numpy.ndarray of floats with entries at the end of the path, or no index of C longs. */
static ArrayFields *
scanned_array(PyObject *root, PyObject *steps, PyObject *idx, Py_ssize_t *item, const long **pos, Py_ssize_t *k)
{
    PyObject *obj = root;
    if (!PyTuple_CheckExact(steps)) {
        return NULL;
    }
    for (Py_ssize_t s = 0; obj != NULL && s < PyTuple_GET_SIZE(steps); s++) {
        obj = step_into(obj, PyTuple_GET_ITEM(steps, s));
    }
    if (obj == NULL || (PyObject *)Py_TYPE(obj) != ndarray_type) {
        PyErr_Clear();
        return NULL;
    }
    ArrayFields *a = (ArrayFields *)obj;
    DescrStart *descr = (DescrStart *)a->descr;
    Py_ssize_t size = 1;
    *item = descr->kind == 'f' ? entry_size(descr->type) : 0;
    *pos = *item ? positions(idx, k) : NULL;
    for (int d = 0; d < a->nd; d++) {
        size *= a->dimensions[d];
    }
    return *pos == NULL || size == 0 ? NULL : a; /* not floats (the kind "f" the Python scan keeps), no entries, or no index */
}

/* Room for `need` bytes in a buffer that starts as the caller's stack array `buffer` (`*cap` bytes) and moves to the
 * heap, doubled, when it outgrows it (the `used` bytes written so far carried over): 0 with MemoryError set when there
 * is no memory left. The caller frees `*out` once it is no longer `buffer`. */
static int
reserve(char **out, char *buffer, Py_ssize_t used, Py_ssize_t need, Py_ssize_t *cap)
{
    if (need <= *cap) {
        return 1;
    }
    Py_ssize_t grown = 2 * need;
    char *more = *out == buffer ? PyMem_Malloc((size_t)grown) : PyMem_Realloc(*out, (size_t)grown);
    if (more == NULL) {
        PyErr_NoMemory();
        return 0;
    }
    if (*out == buffer) {
        memcpy(more, buffer, (size_t)used);
    }
    *out = more;
    *cap = grown;
    return 1;
}

/* scan(root, paths, idxs) -> the signature of a root's arrays now, or None where C cannot read one of them the way
 * discovery's Python does (observe/numpy/discovery.py, Discovery._scan): for each path (a tuple of steps as
 * step_into reads them; a function's locals are read from its frame, the root, by a first step of kind 2) the array it leads to, which must be an exact numpy.ndarray of floats with entries, its
 * address (id) and the bytes of its entries at the flat C-order positions idxs[p] (as arrays.fingerprint reads
 * them), all in one bytes object. Two equal signatures of a root: every array is the same object with the same
 * sampled entries, which is what the Python scan finds one by one. Runs no code of the program. */
static PyObject *
ctrace_scan(PyObject *module, PyObject *args)
{
    PyObject *root, *paths, *idxs;
    if (!PyArg_ParseTuple(args, "OO!O!:scan", &root, &PyList_Type, &paths, &PyList_Type, &idxs)) {
        return NULL;
    }
    Py_ssize_t n = PyList_GET_SIZE(paths);
    if (n != PyList_GET_SIZE(idxs) || ndarray_type == NULL || !heads_trusted) {
        Py_RETURN_NONE;
    }
    char buffer[4096], *out = buffer;
    Py_ssize_t used = 0, cap = sizeof(buffer);
    PyObject *result = NULL;
    for (Py_ssize_t p = 0; p < n; p++) {
        Py_ssize_t item = 0, k = 0;
        const long *pos = NULL;
        ArrayFields *a = scanned_array(root, PyList_GET_ITEM(paths, p), PyList_GET_ITEM(idxs, p), &item, &pos, &k);
        if (a == NULL) {
            goto unreadable;
        }
        Py_ssize_t need = used + (Py_ssize_t)sizeof(void *) + k * item;
        if (!reserve(&out, buffer, used, need, &cap)) {
            goto done;
        }
        void *address = (void *)a;
        memcpy(out + used, &address, sizeof(void *));
        if (!copy_entries(a, item, pos, k, out + used + sizeof(void *))) {
            goto unreadable;
        }
        used = need;
    }
    result = PyBytes_FromStringAndSize(out, used);
    goto done;
unreadable:
    result = Py_NewRef(Py_None);
done:
    if (out != buffer) {
        PyMem_Free(out);
    }
    return result;
}

/* Whether scan(root, paths, idxs) would return exactly the bytes `expect` (paths and idxs lists), compared as they are
 * read, without building the signature: the same arrays, the same addresses, the same bytes at the same positions. */
static int
scan_equals(PyObject *root, PyObject *paths, PyObject *idxs, PyObject *expect)
{
    Py_ssize_t n = PyList_GET_SIZE(paths), used = 0, len = PyBytes_GET_SIZE(expect);
    const char *want = PyBytes_AS_STRING(expect);
    if (n != PyList_GET_SIZE(idxs) || ndarray_type == NULL || !heads_trusted) {
        return 0;
    }
    for (Py_ssize_t p = 0; p < n; p++) {
        Py_ssize_t item = 0, k = 0;
        const long *pos = NULL;
        ArrayFields *a = scanned_array(root, PyList_GET_ITEM(paths, p), PyList_GET_ITEM(idxs, p), &item, &pos, &k);
        if (a == NULL || used + (Py_ssize_t)sizeof(void *) + k * item > len) {
            return 0;
        }
        void *address = (void *)a;
        if (memcmp(want + used, &address, sizeof(void *)) != 0) {
            return 0;
        }
        used += (Py_ssize_t)sizeof(void *);
        Py_ssize_t off[SCAN_ENTRIES];
        for (Py_ssize_t start = 0; start < k; start += SCAN_ENTRIES) {
            Py_ssize_t m = k - start < SCAN_ENTRIES ? k - start : SCAN_ENTRIES;
            if (!entry_offsets(a, item, pos + start, m, off)) {
                return 0; /* (a position out of range: the scan reads None) */
            }
            const char *w = want + used + start * item;
            if (item == 8) { /* (doubles: compared as words, not through a call of memcmp each) */
                for (Py_ssize_t i = 0; i < m; i++) {
                    uint64_t x, y;
                    memcpy(&x, w + i * 8, 8);
                    memcpy(&y, a->data + off[i], 8);
                    if (x != y) {
                        return 0;
                    }
                }
            }
            else {
                for (Py_ssize_t i = 0; i < m; i++) {
                    if (memcmp(w + i * item, a->data + off[i], (size_t)item) != 0) {
                        return 0;
                    }
                }
            }
        }
        used += k * item;
    }
    return used == len;
}

static PyObject *root_attrs[8]; /* "signed", "signature", "paths", "walks", "sizes", "obj", "frame", "__dict__" */

/* Whether a container of a root holds `n` items (or attributes) now, as discovery.py's _resized asks (its _items):
 * an exact dict, list or tuple counted here; an object of any other class but `special` (a tuple of discovery's
 * Cell and FrameLocals) or a subclass of dict, list or tuple by the entries of its own __dict__, read as
 * buffers/peek.py's own_dict reads it (object.__getattribute__ is PyObject_GenericGetAttr), -1 without one; the rest
 * by `items` (discovery's _items). 1 same, 0 not, -1 error. */
static int
same_size(PyObject *c, PyObject *n, PyObject *special, PyObject *items)
{
    Py_ssize_t now;
    PyTypeObject *kind = Py_TYPE(c);
    if (PyDict_CheckExact(c)) {
        now = PyDict_GET_SIZE(c);
    }
    else if (PyList_CheckExact(c)) {
        now = PyList_GET_SIZE(c);
    }
    else if (PyTuple_CheckExact(c)) {
        now = PyTuple_GET_SIZE(c);
    }
    else if (!PyDict_Check(c) && !PyList_Check(c) && !PyTuple_Check(c) && PyTuple_CheckExact(special)
             && PySequence_Contains(special, (PyObject *)kind) == 0) {
        PyObject *d = PyObject_GenericGetAttr(c, root_attrs[7]);
        if (d == NULL) {
            if (!PyErr_ExceptionMatches(PyExc_AttributeError) && !PyErr_ExceptionMatches(PyExc_TypeError)) {
                return -1;
            }
            PyErr_Clear();
            now = -1;
        }
        else {
            now = PyDict_Check(d) ? PyObject_Size(d) : -1;
            Py_DECREF(d);
            if (now == -1 && PyErr_Occurred()) {
                return -1;
            }
        }
    }
    else {
        PyObject *got = PyObject_CallOneArg(items, c);
        if (got == NULL) {
            return -1;
        }
        int eq = PyObject_RichCompareBool(got, n, Py_EQ);
        Py_DECREF(got);
        return eq;
    }
    PyObject *count = PyLong_FromSsize_t(now);
    if (count == NULL) {
        return -1;
    }
    int eq = PyObject_RichCompareBool(count, n, Py_EQ);
    Py_DECREF(count);
    return eq;
}

/* Whether discovery's Root `root` is shown unchanged since its last scan, as discovery.py's _unchanged decides it
 * between walks: a signature kept (`signed`, `signature`) for its current `paths`, at least `first` walks made, every
 * container of `sizes` holding as many items as at the last walk (same_size), and scan() of its arrays (from its
 * `obj`, or the frame of a function's locals: an object of `special[1]`, FrameLocals) equal to the signature.
 * 1 unchanged, 0 not, -1 error. */
static int
root_unchanged(PyObject *root, Py_ssize_t first, PyObject *special, PyObject *items)
{
    PyObject *got[6] = {NULL, NULL, NULL, NULL, NULL, NULL}; /* signed, signature, paths, walks, sizes, obj */
    int result = -1;
    for (int i = 0; i < 6; i++) {
        if ((got[i] = PyObject_GetAttr(root, root_attrs[i])) == NULL) {
            goto done;
        }
    }
    PyObject *signed_ = got[0], *signature = got[1], *paths = got[2], *sizes = got[4], *obj = got[5];
    result = 0;
    if (!PyTuple_CheckExact(signed_) || PyTuple_GET_SIZE(signed_) != 3 || !PyBytes_CheckExact(signature)
        || PyTuple_GET_ITEM(signed_, 0) != paths || !PyList_CheckExact(sizes)
        || !PyList_CheckExact(PyTuple_GET_ITEM(signed_, 1)) || !PyList_CheckExact(PyTuple_GET_ITEM(signed_, 2))) {
        goto done;
    }
    Py_ssize_t walks = PyLong_AsSsize_t(got[3]);
    if (walks == -1 && PyErr_Occurred()) {
        result = -1;
        goto done;
    }
    if (walks < first) {
        goto done;
    }
    for (Py_ssize_t i = 0; i < PyList_GET_SIZE(sizes); i++) {
        PyObject *pair = PyList_GET_ITEM(sizes, i);
        if (!PyTuple_CheckExact(pair) || PyTuple_GET_SIZE(pair) != 2) {
            goto done;
        }
        int same = same_size(PyTuple_GET_ITEM(pair, 0), PyTuple_GET_ITEM(pair, 1), special, items);
        if (same <= 0) {
            result = same;
            goto done;
        }
    }
    if (PyTuple_CheckExact(special) && PyTuple_GET_SIZE(special) == 2 && (PyObject *)Py_TYPE(obj) == PyTuple_GET_ITEM(special, 1)) {
        PyObject *frame = PyObject_GetAttr(obj, root_attrs[6]);
        if (frame == NULL) {
            result = -1;
            goto done;
        }
        Py_SETREF(got[5], frame);
        obj = frame;
    }
    result = scan_equals(obj, PyTuple_GET_ITEM(signed_, 1), PyTuple_GET_ITEM(signed_, 2), signature);
done:
    for (int i = 0; i < 6; i++) {
        Py_XDECREF(got[i]);
    }
    return result;
}

/* changed_roots(roots, first, special, items) -> list: the positions in `roots` (a list of discovery's Root
 * objects) of those not shown unchanged by root_unchanged, in order: discovery's _unchanged asked of every root at
 * once (one call per scan instead of a Python call, the checks of its containers and a signature per root). */
static PyObject *
ctrace_changed_roots(PyObject *module, PyObject *args)
{
    PyObject *roots, *special, *items;
    Py_ssize_t first;
    if (!PyArg_ParseTuple(args, "O!nO!O:changed_roots", &PyList_Type, &roots, &first, &PyTuple_Type, &special, &items)) {
        return NULL;
    }
    if (PyTuple_GET_SIZE(special) != 2) {
        PyErr_SetString(PyExc_ValueError, "changed_roots: special must be (Cell, FrameLocals)");
        return NULL;
    }
    static const char *names[8] = {"signed", "signature", "paths", "walks", "sizes", "obj", "frame", "__dict__"};
    for (int i = 0; i < 8; i++) {
        if (root_attrs[i] == NULL && (root_attrs[i] = PyUnicode_InternFromString(names[i])) == NULL) {
            return NULL;
        }
    }
    PyObject *out = PyList_New(0);
    if (out == NULL) {
        return NULL;
    }
    for (Py_ssize_t i = 0; i < PyList_GET_SIZE(roots); i++) {
        int same = root_unchanged(PyList_GET_ITEM(roots, i), first, special, items);
        if (same < 0) {
            Py_DECREF(out);
            return NULL;
        }
        if (!same) {
            PyObject *at = PyLong_FromSsize_t(i);
            if (at == NULL || PyList_Append(out, at) < 0) {
                Py_XDECREF(at);
                Py_DECREF(out);
                return NULL;
            }
            Py_DECREF(at);
        }
    }
    return out;
}

static PyObject *dict_name = NULL; /* "__dict__", interned (plain_path) */

/* The object the path `steps` (a tuple of steps as step_into reads them, kinds 0 and 1 only) leads to from `root`
 * (borrowed), read exactly as arrays.path_reader's readers read it, or NULL where C does not read it so: a step of
 * kind 1 (an attribute) only from an instance whose class's `__dict__` is the usual descriptor (then
 * object.__getattribute__(obj, "__dict__") is the dict _PyObject_GetDictPtr points at), an item only of an exact dict
 * (str key), list or tuple (an index in range). NULL never leaves an exception set. */
static PyObject *
plain_path(PyObject *root, PyObject *steps)
{
    if (!PyTuple_CheckExact(steps)) {
        return NULL;
    }
    PyObject *obj = root;
    for (Py_ssize_t s = 0; obj != NULL && s < PyTuple_GET_SIZE(steps); s++) {
        PyObject *step = PyTuple_GET_ITEM(steps, s);
        if (!PyTuple_CheckExact(step) || PyTuple_GET_SIZE(step) != 2 || !PyLong_CheckExact(PyTuple_GET_ITEM(step, 0))) {
            return NULL;
        }
        long kind = PyLong_AsLong(PyTuple_GET_ITEM(step, 0));
        if (kind == 1) {
            PyObject *descr = _PyType_Lookup(Py_TYPE(obj), dict_name);
            if (descr == NULL || Py_TYPE(descr) != &PyGetSetDescr_Type) {
                return NULL;
            }
        }
        else if (kind != 0) {
            PyErr_Clear();
            return NULL;
        }
        obj = step_into(obj, step);
    }
    if (obj == NULL) {
        PyErr_Clear();
    }
    return obj;
}

/* An exact numpy.ndarray of float64 (head trusted) with entries at every flat position of pos[0..k) and its byte
 * offsets there into off (k <= SCAN_ENTRIES), else 0. */
static int
doubles_at(PyObject *obj, const long *pos, Py_ssize_t k, Py_ssize_t *off)
{
    if (!heads_trusted || (PyObject *)Py_TYPE(obj) != ndarray_type || k > SCAN_ENTRIES) {
        return 0;
    }
    ArrayFields *a = (ArrayFields *)obj;
    DescrStart *descr = (DescrStart *)a->descr;
    return descr->kind == 'f' && descr->type == 'd' && entry_offsets(a, 8, pos, k, off);
}

/* quick_moved(root, paths, held, quick, seen) -> True, False or None: updates.py's _quick_moved asked in one call.
 * For each parameter p in order: the array its path (paths[p], steps as plain_path reads them) leads to from `root`;
 * True at the first one that is not held[p], or whose entries at the flat positions quick[p] (an index array of C
 * longs) differ from seen[p] (a tuple of their values as Python floats, as ndarray.item read them; None: not looked
 * at); False when none does; None where C does not read a path, an array or a value the way the Python look does (it
 * decides then). NaN differs from itself, -0.0 equals 0.0, as Python's float comparison has it. */
static PyObject *
ctrace_quick_moved(PyObject *module, PyObject *args)
{
    PyObject *root, *paths, *held, *quick, *seen;
    if (!PyArg_ParseTuple(args, "OO!O!O!O!:quick_moved", &root, &PyList_Type, &paths, &PyList_Type, &held, &PyList_Type,
                          &quick, &PyList_Type, &seen)) {
        return NULL;
    }
    Py_ssize_t n = PyList_GET_SIZE(paths);
    if (dict_name == NULL && (dict_name = PyUnicode_InternFromString("__dict__")) == NULL) {
        return NULL;
    }
    if (n != PyList_GET_SIZE(held) || n != PyList_GET_SIZE(quick) || n != PyList_GET_SIZE(seen) || ndarray_type == NULL) {
        Py_RETURN_NONE;
    }
    for (Py_ssize_t p = 0; p < n; p++) {
        PyObject *a = plain_path(root, PyList_GET_ITEM(paths, p));
        if (a == NULL) {
            Py_RETURN_NONE;
        }
        if (a != PyList_GET_ITEM(held, p)) {
            Py_RETURN_TRUE;
        }
        PyObject *values = PyList_GET_ITEM(seen, p);
        if (values == Py_None) {
            continue;
        }
        Py_ssize_t k = 0, off[SCAN_ENTRIES];
        const long *pos = positions(PyList_GET_ITEM(quick, p), &k);
        if (pos == NULL || !PyTuple_CheckExact(values) || PyTuple_GET_SIZE(values) != k || !doubles_at(a, pos, k, off)) {
            Py_RETURN_NONE;
        }
        for (Py_ssize_t i = 0; i < k; i++) {
            PyObject *v = PyTuple_GET_ITEM(values, i);
            if (!PyFloat_CheckExact(v)) {
                Py_RETURN_NONE;
            }
            double now;
            memcpy(&now, ((ArrayFields *)a)->data + off[i], 8);
            if (now != PyFloat_AS_DOUBLE(v)) {
                Py_RETURN_TRUE;
            }
        }
    }
    Py_RETURN_FALSE;
}

/* look_entries(root, paths, idxs, float64, prev) -> bytes, False or None: the buffers' sampled entries as resets.py's
 * BufferResets.look reads them with the compiled fingerprint, in one call: for each buffer the array its path (steps
 * as plain_path reads them) leads to from `root`, which must be an exact numpy.ndarray whose dtype is the object
 * `float64` with an entry at each flat position of idxs[b] (an index array of C longs), and the bytes of those
 * entries, buffer after buffer. False when they are the bytes `prev`; the bytes when not; None where C does not read a
 * path or an array so (the look reads it in Python then). */
static PyObject *
ctrace_look_entries(PyObject *module, PyObject *args)
{
    PyObject *root, *paths, *idxs, *float64, *prev;
    if (!PyArg_ParseTuple(args, "OO!O!OO!:look_entries", &root, &PyList_Type, &paths, &PyList_Type, &idxs, &float64,
                          &PyBytes_Type, &prev)) {
        return NULL;
    }
    Py_ssize_t n = PyList_GET_SIZE(paths);
    if (dict_name == NULL && (dict_name = PyUnicode_InternFromString("__dict__")) == NULL) {
        return NULL;
    }
    if (n != PyList_GET_SIZE(idxs) || ndarray_type == NULL || !heads_trusted) {
        Py_RETURN_NONE;
    }
    char buffer[2048], *out = buffer;
    Py_ssize_t used = 0, cap = sizeof(buffer);
    PyObject *result = NULL;
    for (Py_ssize_t b = 0; b < n; b++) {
        PyObject *obj = plain_path(root, PyList_GET_ITEM(paths, b));
        Py_ssize_t k = 0;
        const long *pos = positions(PyList_GET_ITEM(idxs, b), &k);
        if (obj == NULL || pos == NULL || k == 0 || (PyObject *)Py_TYPE(obj) != ndarray_type
            || ((ArrayFields *)obj)->descr != float64) {
            goto unread;
        }
        if (!reserve(&out, buffer, used, used + 8 * k, &cap)) {
            goto done;
        }
        if (!copy_entries((ArrayFields *)obj, 8, pos, k, out + used)) {
            goto unread; /* (a position out of range: the Python look reads it apart) */
        }
        used += 8 * k;
    }
    if (used == PyBytes_GET_SIZE(prev) && memcmp(out, PyBytes_AS_STRING(prev), (size_t)used) == 0) {
        result = Py_NewRef(Py_False);
    }
    else {
        result = PyBytes_FromStringAndSize(out, used);
    }
    goto done;
unread:
    result = Py_NewRef(Py_None);
done:
    if (out != buffer) {
        PyMem_Free(out);
    }
    return result;
}

/* sample_entries(root, paths, idxs, out) -> bool: updates.py's _sample_buffers in one call: for each parameter b in
 * order, the float64 entries at the flat positions idxs[b] (an index array of C longs) of the array its buffer's path
 * (paths[b], steps as plain_path reads them; None: no buffer) leads to from `root`, or NaN at each of them where there
 * is no buffer or its array has no entry at the last position, written one after the other into `out` (an exact
 * numpy.ndarray of float64, 1-d, contiguous, as long as all of them). False, and nothing decided, where C does not
 * read a path or an array the way the Python does (an array of another dtype, a path C cannot follow, positions out of
 * order): the caller samples in Python then. */
static PyObject *
ctrace_sample_entries(PyObject *module, PyObject *args)
{
    PyObject *root, *paths, *idxs, *out;
    if (!PyArg_ParseTuple(args, "OO!O!O:sample_entries", &root, &PyList_Type, &paths, &PyList_Type, &idxs, &out)) {
        return NULL;
    }
    if (dict_name == NULL && (dict_name = PyUnicode_InternFromString("__dict__")) == NULL) {
        return NULL;
    }
    Py_ssize_t n = PyList_GET_SIZE(paths);
    if (n != PyList_GET_SIZE(idxs) || ndarray_type == NULL || !heads_trusted || (PyObject *)Py_TYPE(out) != ndarray_type) {
        Py_RETURN_FALSE;
    }
    ArrayFields *o = (ArrayFields *)out;
    DescrStart *od = (DescrStart *)o->descr;
    if (o->nd != 1 || od->kind != 'f' || od->type != 'd' || (o->dimensions[0] > 1 && o->strides[0] != 8)) {
        Py_RETURN_FALSE;
    }
    Py_ssize_t used = 0, room = o->dimensions[0];
    const uint64_t nan_bits = 0x7ff8000000000000ULL; /* np.full(k, np.nan)'s entries (Python's float("nan")) */
    for (Py_ssize_t b = 0; b < n; b++) {
        Py_ssize_t k = 0;
        const long *pos = positions(PyList_GET_ITEM(idxs, b), &k);
        if (pos == NULL || k == 0 || used + k > room) {
            Py_RETURN_FALSE;
        }
        for (Py_ssize_t i = 1; i < k; i++) {
            if (pos[i] <= pos[i - 1]) {
                Py_RETURN_FALSE; /* (the Python reads "in range" from the last position alone) */
            }
        }
        PyObject *path = PyList_GET_ITEM(paths, b), *obj = NULL;
        int nan = path == Py_None;
        if (!nan) {
            obj = plain_path(root, path);
            if (obj == NULL || (PyObject *)Py_TYPE(obj) != ndarray_type) {
                Py_RETURN_FALSE;
            }
            ArrayFields *a = (ArrayFields *)obj;
            DescrStart *d = (DescrStart *)a->descr;
            if (d->kind != 'f' || d->type != 'd') {
                Py_RETURN_FALSE;
            }
            Py_ssize_t size = 1;
            for (int dim = 0; dim < a->nd; dim++) {
                size *= a->dimensions[dim];
            }
            nan = size <= pos[k - 1];
            if (!nan && !copy_entries(a, 8, pos, k, o->data + 8 * used)) {
                Py_RETURN_FALSE;
            }
        }
        if (nan) {
            for (Py_ssize_t i = 0; i < k; i++) {
                memcpy(o->data + 8 * (used + i), &nan_bits, 8);
            }
        }
        used += k;
    }
    return PyBool_FromLong(used == room);
}

/* The array the parameter's path leads to now (borrowed), or NULL: the array counted last, its head unchanged, or,
 * with `rebound`, an exact numpy.ndarray bound in its place with the same dtype object, dimensions and strides (the
 * program re-binds its weights, `W = W - lr * dW`: the same entries sit at the same offsets of the new data). */
static PyObject *
bound_now(Counted *c, int rebound)
{
    PyObject *obj = c->root;
    for (Py_ssize_t s = 0; obj != NULL && s < PyTuple_GET_SIZE(c->steps); s++) {
        obj = step_into(obj, PyTuple_GET_ITEM(c->steps, s));
    }
    if (obj == NULL) {
        return NULL;
    }
    ArrayFields *a = (ArrayFields *)obj;
    if (obj != c->array) {
        if (!rebound || !heads_trusted || (PyObject *)Py_TYPE(obj) != ndarray_type || a->descr != c->descr) {
            return NULL;
        }
    }
    else if (a->data != c->data) {
        return NULL;
    }
    if (a->nd != c->nd) {
        return NULL;
    }
    for (int d = 0; d < c->nd; d++) {
        if (a->dimensions[d] != c->dims[d] || a->strides[d] != c->strides[d]) {
            return NULL;
        }
    }
    return obj;
}

/* Whether the parameter's path still leads to the same array, its head unchanged. */
static int
still_bound(Counted *c)
{
    return bound_now(c, 0) != NULL;
}

static double
entry_value(const unsigned char *at, int itemsize)
{
    if (itemsize == 8) {
        double v;
        memcpy(&v, at, 8);
        return v;
    }
    float f;
    memcpy(&f, at, 4);
    return (double)f;
}

static void
release_counting(CallFilter *self)
{
    for (int p = 0; p < self->nparams; p++) {
        Py_CLEAR(self->params[p].root);
        Py_CLEAR(self->params[p].steps);
        Py_CLEAR(self->params[p].array);
    }
    PyMem_Free(self->params);
    self->params = NULL;
    self->nparams = 0;
    Py_CLEAR(self->frame);
    Py_CLEAR(self->through);
}

/* Hand the updates counted so far to Python (counted(n, states, fingerprints, arrays, passed, trailing)) and stop
 * counting: the parameters' arrays counted last (re-bound ones too), the calls of `through` ended here and how many
 * of them came after the last update counted. Returns -1 when the callback failed (its exception set). */
static int
hand_over(CallFilter *self)
{
    Py_ssize_t n = self->pending, passed = self->passed, trailing = self->passed_since;
    PyObject *states = self->states;
    self->pending = self->passed = self->passed_since = 0;
    self->states = NULL;
    PyObject *fps = NULL, *arrays = NULL;
    int heard = (n > 0 || passed > 0) && self->counted != NULL;
    if (heard) {
        fps = PyList_New(self->nparams);
        arrays = PyList_New(self->nparams);
        for (int p = 0; fps != NULL && arrays != NULL && p < self->nparams; p++) {
            Counted *c = &self->params[p];
            PyObject *b = PyBytes_FromStringAndSize((const char *)c->seen, (Py_ssize_t)c->n * c->itemsize);
            if (b == NULL) {
                Py_CLEAR(fps);
                break;
            }
            PyList_SET_ITEM(fps, p, b);
            PyList_SET_ITEM(arrays, p, Py_NewRef(c->array));
        }
    }
    release_counting(self);
    if (!heard) {
        Py_XDECREF(states);
        return 0;
    }
    if (fps == NULL || arrays == NULL) {
        Py_XDECREF(states);
        Py_XDECREF(fps);
        Py_XDECREF(arrays);
        return -1;
    }
    PyObject *count = PyLong_FromSsize_t(n), *through = PyLong_FromSsize_t(passed), *last = PyLong_FromSsize_t(trailing);
    PyObject *result = count == NULL || through == NULL || last == NULL ? NULL
        : PyObject_CallFunctionObjArgs(self->counted, count, states ? states : Py_None, fps, arrays, through, last, NULL);
    Py_XDECREF(count);
    Py_XDECREF(through);
    Py_XDECREF(last);
    Py_XDECREF(states);
    Py_DECREF(fps);
    Py_DECREF(arrays);
    if (result == NULL) {
        return -1;
    }
    Py_DECREF(result);
    return 0;
}

/* A line event of the counting frame at its loop head: counted here (1) when every parameter is bound to the same
 * array, or to one re-bound in its place (bound_now), and, as NumpyBackend._check_update would find, a quick entry
 * moved and every parameter's fingerprint did (a re-bound array's fingerprint, which holds its id, always moves); 0:
 * Python must hear it. */
static int
count_tick(CallFilter *self, PyFrameObject *frame)
{
    if ((PyObject *)frame != self->frame || frame->f_lineno != self->line || self->pending >= self->limit) {
        return 0;
    }
    PyObject *arrays[64]; /* (count allows 64 parameters at most) */
    int quick_moved = 0;
    for (int p = 0; p < self->nparams; p++) {
        Counted *c = &self->params[p];
        ArrayFields *a = (ArrayFields *)(arrays[p] = bound_now(c, 1));
        if (a == NULL) {
            return 0;
        }
        quick_moved = quick_moved || arrays[p] != c->array;
        for (int q = 0; q < 3 && !quick_moved; q++) {
            const unsigned char *at = (const unsigned char *)a->data + c->offsets[c->quick[q]];
            quick_moved = entry_value(at, c->itemsize) != entry_value(c->seen + c->quick[q] * c->itemsize, c->itemsize);
        }
    }
    if (!quick_moved) {
        return 0;
    }
    /* a quick entry gone NaN or infinite: Python hears this update (its light look names the first non-finite weights
     * at the update where they appear, NumpyBackend._light_nonfinite) */
    for (int p = 0; p < self->nparams; p++) {
        Counted *c = &self->params[p];
        for (int q = 0; q < 3; q++) {
            const unsigned char *at = (const unsigned char *)((ArrayFields *)arrays[p])->data + c->offsets[c->quick[q]];
            if (!isfinite(entry_value(at, c->itemsize))) {
                return 0;
            }
        }
    }
    unsigned char now[MAX_ENTRIES * 8];
    for (int p = 0; p < self->nparams; p++) {
        Counted *c = &self->params[p];
        const char *data = ((ArrayFields *)arrays[p])->data;
        for (int e = 0; e < c->n; e++) {
            memcpy(now + e * c->itemsize, data + c->offsets[e], c->itemsize);
        }
        if (arrays[p] == c->array && memcmp(now, c->seen, (size_t)c->n * c->itemsize) == 0) {
            return 0; /* this one did not move: Python decides what the tick is */
        }
    }
    Py_ssize_t total = 0;
    for (int p = 0; p < self->nparams; p++) {
        total += (Py_ssize_t)self->params[p].n * self->params[p].itemsize;
    }
    unsigned char *all = self->states != NULL ? PyMem_Malloc(total) : NULL;
    PyObject *released[64];
    int nreleased = 0;
    Py_ssize_t at = 0;
    for (int p = 0; p < self->nparams; p++) {
        Counted *c = &self->params[p];
        if (arrays[p] != c->array) { /* re-bound: counted from here on; the old one let go once all are taken */
            released[nreleased++] = c->array;
            c->array = Py_NewRef(arrays[p]);
        }
        c->data = ((ArrayFields *)c->array)->data;
        for (int e = 0; e < c->n; e++) {
            memcpy(c->seen + e * c->itemsize, c->data + c->offsets[e], c->itemsize);
        }
        if (all != NULL) {
            memcpy(all + at, c->seen, (size_t)c->n * c->itemsize);
            at += (Py_ssize_t)c->n * c->itemsize;
        }
    }
    for (int r = 0; r < nreleased; r++) {
        Py_DECREF(released[r]);
    }
    if (self->states != NULL) {
        /* hash(b"".join(fingerprint bytes)), as NumpyBackend._check_update keeps it for restores */
        PyObject *h = all != NULL ? PyLong_FromSsize_t(_Py_HashBytes(all, total)) : NULL;
        PyMem_Free(all);
        if (h == NULL || PyList_Append(self->states, h) < 0) {
            Py_XDECREF(h);
            PyErr_Clear();
            Py_CLEAR(self->states); /* (Python then keeps no states for these: it is told with None) */
        }
        else {
            Py_DECREF(h);
        }
    }
    self->pending++;
    self->passed_since = 0;
    return 1;
}

/* What CPython's trampoline does with a Python trace function's answer: call it, the frame's locals synced as
 * call_trampoline syncs them, and keep a non-None result as the frame's local trace function. */
static int
deliver(PyObject *callback, PyFrameObject *frame, int what, PyObject *arg)
{
    if (frame->f_fast_as_locals && PyFrame_FastToLocalsWithError(frame) < 0) {
        goto failed;
    }
    PyObject *args[3] = {(PyObject *)frame, event_names[what], arg != NULL ? arg : Py_None};
    Py_INCREF(callback); /* the callback may replace frame->f_trace, its only owner */
    PyObject *result = PyObject_Vectorcall(callback, args, 3, NULL);
    Py_DECREF(callback);
    PyFrame_LocalsToFast(frame, 1);
    if (result == NULL) {
        goto failed;
    }
    if (result != Py_None) {
        Py_XSETREF(frame->f_trace, result);
    }
    else {
        Py_DECREF(result);
    }
    return 0;
failed:
    /* as sys.settrace's trampoline: tracing stops in this thread, the exception goes on into the program */
    PyEval_SetTrace(NULL, NULL);
    Py_CLEAR(frame->f_trace);
    return -1;
}

/* Whether `code` is one of the code objects of the tuple `codes` (by identity: a code object's hash reads all of it). */
static int
among(PyObject *codes, PyCodeObject *code)
{
    if (codes == NULL) {
        return 0;
    }
    Py_ssize_t n = PyTuple_GET_SIZE(codes);
    for (Py_ssize_t i = 0; i < n; i++) {
        if (PyTuple_GET_ITEM(codes, i) == (PyObject *)code) {
            return 1;
        }
    }
    return 0;
}

#define MAX_BENEATH 32 /* frames looked through for a held one */

/* Whether the new frame of a `quiet` code runs beneath a frame of the held step: a frame of `held` or of `listen`
 * among its callers, with none between them that has a local trace function (a frame the tracer watches: the step's
 * loop, an evaluation). Its call then ends here while the filter holds (CallTracer.hold's `quiet`). */
static int
beneath_held(CallFilter *self, PyFrameObject *frame)
{
    PyCodeObject *code = PyFrame_GetCode(frame);
    int quiet = among(self->quiet, code);
    Py_DECREF(code);
    if (!quiet) {
        return 0;
    }
    PyFrameObject *back = PyFrame_GetBack(frame);
    int found = 0;
    for (int depth = 0; back != NULL && depth < MAX_BENEATH; depth++) {
        code = PyFrame_GetCode(back);
        found = among(self->held, code) || (PyObject *)code == self->listen;
        Py_DECREF(code);
        if (found || back->f_trace != NULL) {
            break;
        }
        PyFrameObject *next = PyFrame_GetBack(back);
        Py_DECREF(back);
        back = next;
    }
    Py_XDECREF(back);
    return found;
}

/* Whether a call of the new frame `frame` ends here as one of the counting frame's calls that Python need not hear
 * (count's `through`: the function that applies the updates, whose call Python would hear only to find, as
 * NumpyBackend._check_update does at it, that nothing moved since the last tick): a code of `through`, called by the
 * counting frame itself, every parameter bound to the array counted last with its quick entries unchanged. */
static int
passes_through(CallFilter *self, PyFrameObject *frame, PyCodeObject *code)
{
    if (!among(self->through, code)) {
        return 0;
    }
    PyFrameObject *back = PyFrame_GetBack(frame);
    int direct = back != NULL && (PyObject *)back == self->frame;
    Py_XDECREF(back);
    if (!direct) {
        return 0;
    }
    for (int p = 0; p < self->nparams; p++) {
        Counted *c = &self->params[p];
        if (!still_bound(c)) {
            return 0;
        }
        for (int q = 0; q < 3; q++) {
            const unsigned char *at = (const unsigned char *)c->data + c->offsets[c->quick[q]];
            if (entry_value(at, c->itemsize) != entry_value(c->seen + c->quick[q] * c->itemsize, c->itemsize)) {
                return 0;
            }
        }
    }
    self->passed++;
    self->passed_since++;
    return 1;
}

static int
filter_trace(PyObject *obj, PyFrameObject *frame, int what, PyObject *arg)
{
    CallFilter *self = (CallFilter *)obj;
    PyObject *callback;
    if (self->frame != NULL && what == PyTrace_LINE && count_tick(self, frame)) {
        return 0;
    }
    if (what == PyTrace_CALL) {
        PyCodeObject *code = PyFrame_GetCode(frame);
        int skip = skipped(self, code) || (self->frame != NULL && self->through != NULL && passes_through(self, frame, code));
        Py_DECREF(code);
        if (skip || (self->holding && self->quiet != NULL && beneath_held(self, frame))) {
            /* no local trace function: its line events would come here only to end (CPython makes one for every
             * line of a frame whose f_trace_lines is set, its default), as _global turns off those of the frames it
             * answers; a debugger's arrival turns them on again (observe/control.py, DebuggerWatch) */
            frame->f_trace_lines = 0;
            return 0;
        }
        callback = self->call;
    }
    else {
        callback = frame->f_trace;
        if (callback != NULL && what == PyTrace_LINE && away_from_heads(self, frame, callback)) {
            return 0;
        }
    }
    if (callback == NULL || what < 0 || what > PyTrace_OPCODE) {
        return 0;
    }
    if (self->frame != NULL && hand_over(self) < 0) {
        PyErr_Clear(); /* (the callback catches its own errors: this is running out of memory) */
    }
    return deliver(callback, frame, what, arg);
}

static PyObject *
filter_new(PyTypeObject *type, PyObject *args, PyObject *kwds)
{
    static char *kwlist[] = {"call", "local", "counted", NULL};
    PyObject *call, *local = NULL, *counted = NULL;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "O|OO:CallFilter", kwlist, &call, &local, &counted)) {
        return NULL;
    }
    if (!PyCallable_Check(call)) {
        PyErr_SetString(PyExc_TypeError, "CallFilter(call): call must be a trace function");
        return NULL;
    }
    if (local == Py_None) {
        local = NULL;
    }
    if (local != NULL && !PyMethod_Check(local)) {
        PyErr_SetString(PyExc_TypeError, "CallFilter(call, local): local must be a bound method");
        return NULL;
    }
    CallFilter *self = (CallFilter *)type->tp_alloc(type, 0);
    if (self == NULL) {
        return NULL;
    }
    Py_INCREF(call);
    self->call = call;
    Py_XINCREF(local);
    self->local = local;
    if (counted != NULL && counted != Py_None) {
        Py_INCREF(counted);
        self->counted = counted;
    }
    /* odd values: never a pointer, never NULL (no mark); one per filter, so that a filter ignores another's marks */
    self->mark = (uintptr_t)(next_serial++) * 2 + 1;
    return (PyObject *)self;
}

static int
filter_traverse(CallFilter *self, visitproc visit, void *arg)
{
    Py_VISIT(self->call);
    Py_VISIT(self->local);
    Py_VISIT(self->counted);
    Py_VISIT(self->frame);
    Py_VISIT(self->states);
    Py_VISIT(self->held);
    Py_VISIT(self->listen);
    Py_VISIT(self->quiet);
    Py_VISIT(self->through);
    for (int p = 0; p < self->nparams; p++) {
        Py_VISIT(self->params[p].root);
        Py_VISIT(self->params[p].steps);
        Py_VISIT(self->params[p].array);
    }
    return 0;
}

static int
filter_clear(CallFilter *self)
{
    Py_CLEAR(self->call);
    Py_CLEAR(self->local);
    Py_CLEAR(self->counted);
    Py_CLEAR(self->states);
    Py_CLEAR(self->held);
    Py_CLEAR(self->listen);
    Py_CLEAR(self->quiet);
    self->pending = self->passed = self->passed_since = 0;
    release_counting(self);
    return 0;
}

/* step(held, listen, quiet): the held step's codes (tuples of code objects, and a code object or None; empty tuples:
 * none), see beneath_held. */
static PyObject *
filter_step(CallFilter *self, PyObject *args)
{
    PyObject *held, *listen, *quiet;
    if (!PyArg_ParseTuple(args, "O!OO!:step", &PyTuple_Type, &held, &listen, &PyTuple_Type, &quiet)) {
        return NULL;
    }
    if (listen != Py_None && !PyCode_Check(listen)) {
        PyErr_SetString(PyExc_TypeError, "step(held, listen, quiet): listen must be a code object or None");
        return NULL;
    }
    Py_ssize_t n = PyTuple_GET_SIZE(held);
    for (Py_ssize_t i = 0; i < n + PyTuple_GET_SIZE(quiet); i++) {
        if (!PyCode_Check(i < n ? PyTuple_GET_ITEM(held, i) : PyTuple_GET_ITEM(quiet, i - n))) {
            PyErr_SetString(PyExc_TypeError, "step(held, listen, quiet): held and quiet must hold code objects");
            return NULL;
        }
    }
    int none = PyTuple_GET_SIZE(quiet) == 0 || (n == 0 && listen == Py_None);
    Py_CLEAR(self->held);
    Py_CLEAR(self->listen);
    Py_CLEAR(self->quiet);
    if (!none) {
        self->held = Py_NewRef(held);
        self->listen = listen == Py_None ? NULL : Py_NewRef(listen);
        self->quiet = Py_NewRef(quiet);
    }
    Py_RETURN_NONE;
}

static void
filter_dealloc(CallFilter *self)
{
    PyObject_GC_UnTrack(self);
    filter_clear(self);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

/* Called as a Python trace function: CPython's trampoline runs us (sys.settrace(filter), a new thread after
 * threading.settrace(filter)). Put the filter itself in its place and answer this call as it would have. */
static PyObject *
filter_call(CallFilter *self, PyObject *args, PyObject *kwds)
{
    PyObject *frame, *event, *arg;
    if (!PyArg_ParseTuple(args, "O!UO:CallFilter", &PyFrame_Type, &frame, &event, &arg)) {
        return NULL;
    }
    PyEval_SetTrace(filter_trace, (PyObject *)self);
    if (PyUnicode_CompareWithASCIIString(event, "call") != 0) {
        Py_RETURN_NONE;
    }
    PyCodeObject *code = PyFrame_GetCode((PyFrameObject *)frame);
    int skip = skipped(self, code);
    Py_DECREF(code);
    if (skip) {
        Py_RETURN_NONE;
    }
    if (self->frame != NULL && hand_over(self) < 0) {
        PyErr_Clear();
    }
    return PyObject_CallFunctionObjArgs(self->call, frame, event, arg, NULL);
}

static int
set_mark(CallFilter *self, PyObject *code, uintptr_t mark)
{
    if (!PyCode_Check(code)) {
        PyErr_Format(PyExc_TypeError, "expected a code object, got %.100s", Py_TYPE(code)->tp_name);
        return -1;
    }
    return _PyCode_SetExtra(code, extra_index, (void *)mark);
}

static PyObject *
filter_skip(CallFilter *self, PyObject *code)
{
    if (set_mark(self, code, self->mark) < 0) {
        return NULL;
    }
    Py_RETURN_NONE;
}

static PyObject *
filter_unskip(CallFilter *self, PyObject *code)
{
    if (!PyCode_Check(code)) {
        PyErr_Format(PyExc_TypeError, "expected a code object, got %.100s", Py_TYPE(code)->tp_name);
        return NULL;
    }
    if (skipped(self, (PyCodeObject *)code) && set_mark(self, code, 0) < 0) {
        return NULL;
    }
    Py_RETURN_NONE;
}

static PyObject *
filter_skips(CallFilter *self, PyObject *code)
{
    if (!PyCode_Check(code)) {
        PyErr_Format(PyExc_TypeError, "expected a code object, got %.100s", Py_TYPE(code)->tp_name);
        return NULL;
    }
    return PyBool_FromLong(skipped(self, (PyCodeObject *)code));
}

/* A bytes bitmap of the line numbers in the iterable `lines` (bit `line & 7` of byte `line >> 3`), or NULL. */
static PyObject *
line_bitmap(PyObject *lines)
{
    long top = 0;
    PyObject *it = PyObject_GetIter(lines);
    if (it == NULL) {
        return NULL;
    }
    PyObject *item;
    PyObject *seen = PyList_New(0);
    if (seen == NULL) {
        Py_DECREF(it);
        return NULL;
    }
    while ((item = PyIter_Next(it)) != NULL) {
        long line = PyLong_AsLong(item);
        if (line == -1 && PyErr_Occurred()) {
            Py_DECREF(item);
            break;
        }
        if (line > 0 && line < (1L << 24)) {
            top = line > top ? line : top;
            if (PyList_Append(seen, item) < 0) {
                Py_DECREF(item);
                break;
            }
        }
        Py_DECREF(item);
    }
    Py_DECREF(it);
    if (PyErr_Occurred()) {
        Py_DECREF(seen);
        return NULL;
    }
    PyObject *bitmap = PyBytes_FromStringAndSize(NULL, (top >> 3) + 1);
    if (bitmap == NULL) {
        Py_DECREF(seen);
        return NULL;
    }
    unsigned char *bits = (unsigned char *)PyBytes_AS_STRING(bitmap);
    memset(bits, 0, (top >> 3) + 1);
    for (Py_ssize_t i = 0; i < PyList_GET_SIZE(seen); i++) {
        long line = PyLong_AsLong(PyList_GET_ITEM(seen, i));
        bits[line >> 3] |= (unsigned char)(1 << (line & 7));
    }
    Py_DECREF(seen);
    return bitmap;
}

/* heads(code, lines): register the lines where an iteration of one of code's loops starts (any filter's registration
 * serves every filter: the heads are the code's own). Once per code object; later calls change nothing. */
static PyObject *
filter_heads(CallFilter *self, PyObject *args)
{
    PyObject *code, *lines;
    if (!PyArg_ParseTuple(args, "O!O:heads", &PyCode_Type, &code, &lines)) {
        return NULL;
    }
    void *extra = NULL;
    if (_PyCode_GetExtra(code, heads_index, &extra) < 0) {
        return NULL;
    }
    if (extra != NULL) {
        Py_RETURN_NONE;
    }
    PyObject *bitmap = line_bitmap(lines);
    if (bitmap == NULL) {
        return NULL;
    }
    if (_PyCode_SetExtra(code, heads_index, bitmap) < 0) { /* the code object owns it from here (free_heads) */
        Py_DECREF(bitmap);
        return NULL;
    }
    Py_RETURN_NONE;
}

/* mute(code, lines): while the filter is holding, line events at these loop heads of code end here (replaces what an
 * earlier call muted; empty lines: none). */
static PyObject *
filter_mute(CallFilter *self, PyObject *args)
{
    PyObject *code, *lines;
    if (!PyArg_ParseTuple(args, "O!O:mute", &PyCode_Type, &code, &lines)) {
        return NULL;
    }
    PyObject *bitmap = line_bitmap(lines);
    if (bitmap == NULL) {
        return NULL;
    }
    /* owned by the code object from here; the one it replaces is released by CPython with free_heads */
    if (_PyCode_SetExtra(code, muted_index, bitmap) < 0) {
        Py_DECREF(bitmap);
        return NULL;
    }
    Py_RETURN_NONE;
}

/* count(frame, line, plan, limit, keep_states, through=()): from now on, line events of `frame` at `line` end here as
 * updates counted while every parameter of `plan` is bound where it was (or to an array re-bound in its place,
 * bound_now), a quick entry moved and every parameter's fingerprint did, at most `limit` of them; the calls `frame`
 * makes of the codes of `through` end here while nothing moved (passes_through); any event that reaches Python first
 * hands them to counted(n, states, fingerprints, arrays, passed, trailing) (states: the hash of each update's
 * fingerprint bytes, None unless keep_states; see hand_over) and ends counting. `plan`: a list of (root, steps,
 * array, data address, offsets, quick positions, itemsize) per parameter. Returns whether counting began (False: a
 * parameter C cannot read as planned). */
static PyObject *
filter_count(CallFilter *self, PyObject *args)
{
    PyObject *frame, *plan, *through = NULL;
    int line, keep;
    Py_ssize_t limit;
    if (!PyArg_ParseTuple(args, "O!iO!np|O!:count", &PyFrame_Type, &frame, &line, &PyList_Type, &plan, &limit, &keep,
                          &PyTuple_Type, &through)) {
        return NULL;
    }
    for (Py_ssize_t i = 0; through != NULL && i < PyTuple_GET_SIZE(through); i++) {
        if (!PyCode_Check(PyTuple_GET_ITEM(through, i))) {
            PyErr_SetString(PyExc_TypeError, "count(..., through): through must hold code objects");
            return NULL;
        }
    }
    if (self->frame != NULL) {
        Py_RETURN_FALSE; /* counting already: asked only from a handler, after the counted were handed over */
    }
    Py_ssize_t n = PyList_GET_SIZE(plan);
    if (n < 1 || n > 64 || limit < 1 || self->counted == NULL) {
        Py_RETURN_FALSE;
    }
    Counted *params = PyMem_Calloc((size_t)n, sizeof(Counted));
    if (params == NULL) {
        return PyErr_NoMemory();
    }
    self->params = params;
    self->nparams = (int)n;
    for (Py_ssize_t p = 0; p < n; p++) {
        Counted *c = &params[p];
        PyObject *root, *steps, *array, *offsets, *quick;
        Py_ssize_t data;
        if (!PyArg_ParseTuple(PyList_GET_ITEM(plan, p), "OO!OnO!O!i:count", &root, &PyTuple_Type, &steps, &array,
                              &data, &PyTuple_Type, &offsets, &PyTuple_Type, &quick, &c->itemsize)) {
            release_counting(self);
            return NULL;
        }
        Py_INCREF(root);
        c->root = root;
        Py_INCREF(steps);
        c->steps = steps;
        Py_INCREF(array);
        c->array = array;
        ArrayFields *a = (ArrayFields *)array; /* (checked below against the address NumPy gives) */
        c->n = (int)PyTuple_GET_SIZE(offsets);
        if ((c->itemsize != 4 && c->itemsize != 8) || c->n < 1 || c->n > MAX_ENTRIES || PyTuple_GET_SIZE(quick) != 3 ||
            (Py_ssize_t)a->data != data || a->nd < 0 || a->nd > MAX_DIMS) {
            release_counting(self);
            Py_RETURN_FALSE; /* not an array laid out as ArrayFields says, or more than C keeps */
        }
        c->data = a->data;
        c->descr = a->descr;
        c->nd = a->nd;
        for (int d = 0; d < a->nd; d++) {
            c->dims[d] = a->dimensions[d];
            c->strides[d] = a->strides[d];
        }
        for (int e = 0; e < c->n; e++) {
            c->offsets[e] = PyLong_AsSsize_t(PyTuple_GET_ITEM(offsets, e));
        }
        for (int q = 0; q < 3; q++) {
            c->quick[q] = (int)PyLong_AsLong(PyTuple_GET_ITEM(quick, q));
            if (c->quick[q] < 0 || c->quick[q] >= c->n) {
                PyErr_SetString(PyExc_ValueError, "count: a quick position outside the fingerprint's entries");
            }
        }
        if (PyErr_Occurred()) {
            release_counting(self);
            return NULL;
        }
        if (!still_bound(c)) {
            release_counting(self);
            Py_RETURN_FALSE;
        }
        for (int e = 0; e < c->n; e++) {
            memcpy(c->seen + e * c->itemsize, c->data + c->offsets[e], c->itemsize);
        }
    }
    Py_INCREF(frame);
    self->frame = frame;
    self->through = through != NULL && PyTuple_GET_SIZE(through) > 0 ? Py_NewRef(through) : NULL;
    self->line = line;
    self->limit = limit;
    self->pending = self->passed = self->passed_since = 0;
    Py_CLEAR(self->states);
    if (keep && (self->states = PyList_New(0)) == NULL) {
        release_counting(self);
        return NULL;
    }
    Py_RETURN_TRUE;
}

/* take(): hand the updates counted so far to counted() now and stop counting (the tracer's uninstall). */
static PyObject *
filter_take(CallFilter *self, PyObject *unused)
{
    if (hand_over(self) < 0) {
        return NULL;
    }
    Py_RETURN_NONE;
}

static PyObject *
filter_install(CallFilter *self, PyObject *unused)
{
    PyEval_SetTrace(filter_trace, (PyObject *)self);
    Py_RETURN_NONE;
}

static PyMethodDef filter_methods[] = {
    {"skip", (PyCFunction)filter_skip, METH_O, "skip(code): calls of code end in C from now on (not the user's)."},
    {"unskip", (PyCFunction)filter_unskip, METH_O, "unskip(code): calls of code reach the Python trace function again."},
    {"skips", (PyCFunction)filter_skips, METH_O, "skips(code) -> whether calls of code end in C."},
    {"heads", (PyCFunction)filter_heads, METH_VARARGS,
     "heads(code, lines): the lines where code's loop iterations start; its other line events end in C."},
    {"mute", (PyCFunction)filter_mute, METH_VARARGS,
     "mute(code, lines): while holding, line events at these loop heads of code end in C too."},
    {"count", (PyCFunction)filter_count, METH_VARARGS,
     "count(frame, line, plan, limit, keep_states, through=()) -> whether updates at this loop head are counted in C from now on."},
    {"take", (PyCFunction)filter_take, METH_NOARGS, "take(): hand the updates counted in C to counted() and stop."},
    {"step", (PyCFunction)filter_step, METH_VARARGS,
     "step(held, listen, quiet): while holding, calls of the codes quiet beneath a frame of held or of listen end in C."},
    {"install", (PyCFunction)filter_install, METH_NOARGS,
     "install(): this filter is the current thread's trace function (PyEval_SetTrace)."},
    {NULL},
};

static PyMemberDef filter_members[] = {
    {"call", T_OBJECT, offsetof(CallFilter, call), READONLY, "The Python trace function of unskipped calls."},
    {"local", T_OBJECT, offsetof(CallFilter, local), READONLY,
     "The local trace function whose line events away from loop heads end in C (or None)."},
    {"holding", T_BOOL, offsetof(CallFilter, holding), 0, "While true, line events at muted loop heads end in C."},
    {"pending", T_PYSSIZET, offsetof(CallFilter, pending), READONLY, "Updates counted in C not yet handed over."},
    {"counting", T_OBJECT, offsetof(CallFilter, frame), READONLY, "The frame whose loop head counts in C, or None."},
    {NULL},
};

static PyTypeObject CallFilterType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "netdoctor.observe._ctrace.CallFilter",
    .tp_doc = PyDoc_STR("CallFilter(call): a trace function in C that ends the calls of skipped code objects and "
                        "passes every other event on as sys.settrace(call) would."),
    .tp_basicsize = sizeof(CallFilter),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC,
    .tp_new = filter_new,
    .tp_dealloc = (destructor)filter_dealloc,
    .tp_traverse = (traverseproc)filter_traverse,
    .tp_clear = (inquiry)filter_clear,
    .tp_call = (ternaryfunc)filter_call,
    .tp_methods = filter_methods,
    .tp_members = filter_members,
};
#else
#define CTRACE_SUPPORTED 0
#endif

/* -- Outside the tracer: two helpers of the observer's own bookkeeping, for any CPython ---------------------------- */

/* fingerprint(a, idx): what arrays.fingerprint computes in Python, `(id(a), a.ravel()[idx].tobytes())`, read
 * through the buffer protocol without making the three temporaries (the ravelled view, the fancy-indexed copy, the
 * bytes) or raising an audit event for id(). Only for an exact numpy.ndarray of a plain dtype and an index array of
 * C longs in range: anything else goes to the Python fallback (fingerprint_fallback), which answers as it always did
 * (an np.matrix's ravel is 2-d, an out-of-range index raises). Entry k of idx is the flat C-order position p of a:
 * its offset is the sum over the dimensions, last first, of (p mod dim) * stride, p divided by dim each time. */
static PyObject *fingerprint_fallback = NULL; /* owned: arrays._py_fingerprint */

static PyObject *
ctrace_set_fingerprint(PyObject *module, PyObject *args)
{
    PyObject *fallback, *kind, *probes;
    if (!PyArg_ParseTuple(args, "OOO!", &fallback, &kind, &PyList_Type, &probes)) {
        return NULL;
    }
    Py_INCREF(fallback);
    Py_XSETREF(fingerprint_fallback, fallback);
    Py_INCREF(kind);
    Py_XSETREF(ndarray_type, kind);
    /* each probe: (array, its data address, ndim, shape[0], dtype.kind, dtype.char) as NumPy gives them */
    int trusted = PyList_GET_SIZE(probes) > 0;
    for (Py_ssize_t i = 0; trusted && i < PyList_GET_SIZE(probes); i++) {
        PyObject *array;
        Py_ssize_t address, first;
        int nd, dkind, dtype;
        if (!PyArg_ParseTuple(PyList_GET_ITEM(probes, i), "Oninii:probe", &array, &address, &nd, &first, &dkind, &dtype)) {
            return NULL;
        }
        ArrayFields *a = (ArrayFields *)array;
        trusted = (PyObject *)Py_TYPE(array) == kind && a->data == (char *)address && a->nd == nd && nd >= 1
                  && a->dimensions[0] == first && a->descr != NULL && ((DescrStart *)a->descr)->kind == (char)dkind
                  && ((DescrStart *)a->descr)->type == (char)dtype;
    }
    heads_trusted = trusted;
    return PyBool_FromLong(trusted);
}

static PyObject *
fingerprint_slow(PyObject *a, PyObject *idx)
{
    if (fingerprint_fallback == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "fingerprint: no fallback set (set_fingerprint)");
        return NULL;
    }
    return PyObject_CallFunctionObjArgs(fingerprint_fallback, a, idx, NULL);
}

static PyObject *
ctrace_fingerprint(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 2) {
        PyErr_SetString(PyExc_TypeError, "fingerprint(a, idx) takes two arguments");
        return NULL;
    }
    PyObject *a = args[0], *idx = args[1];
    if (ndarray_type == NULL || (PyObject *)Py_TYPE(a) != ndarray_type || (PyObject *)Py_TYPE(idx) != ndarray_type) {
        return fingerprint_slow(a, idx);
    }
    Py_ssize_t k = 0, item = heads_trusted ? entry_size(((DescrStart *)((ArrayFields *)a)->descr)->type) : 0;
    const long *pos = item ? positions(idx, &k) : NULL;
    if (pos != NULL && ((DescrStart *)((ArrayFields *)a)->descr)->kind != 'O') {
        PyObject *bytes = PyBytes_FromStringAndSize(NULL, k * item);
        if (bytes == NULL) {
            return NULL;
        }
        if (!copy_entries((ArrayFields *)a, item, pos, k, PyBytes_AS_STRING(bytes))) {
            Py_DECREF(bytes);
            return fingerprint_slow(a, idx);
        }
        PyObject *ident = PyLong_FromVoidPtr(a);
        PyObject *out = ident == NULL ? NULL : PyTuple_Pack(2, ident, bytes);
        Py_XDECREF(ident);
        Py_DECREF(bytes);
        return out;
    }
    Py_buffer view, where;
    if (PyObject_GetBuffer(a, &view, PyBUF_RECORDS_RO) < 0) {
        PyErr_Clear(); /* a dtype the buffer protocol does not export (datetime64, ...) */
        return fingerprint_slow(a, idx);
    }
    if (PyObject_GetBuffer(idx, &where, PyBUF_ND | PyBUF_FORMAT) < 0) {
        PyErr_Clear();
        PyBuffer_Release(&view);
        return fingerprint_slow(a, idx);
    }
    const char *fmt = view.format, *wfmt = where.format;
    Py_ssize_t size = 1;
    for (int d = 0; d < view.ndim; d++) {
        size *= view.shape[d];
    }
    /* plain numbers only (an object array's entries are pointers whose bytes are not its values' identity) */
    int plain = fmt != NULL && strchr(fmt, 'O') == NULL && wfmt != NULL && where.ndim == 1 && where.itemsize == sizeof(long)
                && (strcmp(wfmt, "l") == 0 || strcmp(wfmt, "=l") == 0 || strcmp(wfmt, "<l") == 0
                    || strcmp(wfmt, "q") == 0 || strcmp(wfmt, "=q") == 0 || strcmp(wfmt, "<q") == 0);
    Py_ssize_t count = plain ? where.shape[0] : 0;
    const long *at = (const long *)where.buf;
    for (Py_ssize_t i = 0; plain && i < count; i++) {
        if (at[i] < 0 || at[i] >= size) {
            plain = 0;
        }
    }
    PyObject *out = NULL;
    if (plain) {
        Py_ssize_t item = view.itemsize;
        PyObject *bytes = PyBytes_FromStringAndSize(NULL, count * item);
        if (bytes != NULL) {
            char *dst = PyBytes_AS_STRING(bytes);
            for (Py_ssize_t i = 0; i < count; i++) {
                Py_ssize_t p = at[i], off = 0;
                for (int d = view.ndim - 1; d >= 0; d--) {
                    off += (p % view.shape[d]) * view.strides[d];
                    p /= view.shape[d];
                }
                memcpy(dst + i * item, (const char *)view.buf + off, (size_t)item);
            }
            PyObject *ident = PyLong_FromVoidPtr(a);
            out = ident == NULL ? NULL : PyTuple_Pack(2, ident, bytes);
            Py_XDECREF(ident);
            Py_DECREF(bytes);
        }
    }
    PyBuffer_Release(&where);
    PyBuffer_Release(&view);
    if (!plain) {
        return fingerprint_slow(a, idx);
    }
    return out;
}

/* The audit gate: an audit hook written in Python is a Python call at every audit event of the process, the
 * observer's own id() calls included, for the rest of the run (a hook cannot be removed). This C hook answers every
 * event at once while no replay runs (gate(None)); while one runs (gate(hook)) it hands the event to `hook(event,
 * args)` as CPython hands it to a Python hook: with tracing paused, an exception refusing the event. */
static PyObject *audit_forward = NULL; /* owned: the Python hook while a replay runs, else NULL */
static int audit_installed = 0;

static int
audit_gate_hook(const char *event, PyObject *args, void *data)
{
    (void)data;
    if (audit_forward == NULL) {
        return 0;
    }
    PyObject *hook = audit_forward, *name = PyUnicode_FromString(event);
    if (name == NULL) {
        return -1;
    }
    Py_INCREF(hook);
    PyThreadState *tstate = PyThreadState_Get();
    PyThreadState_EnterTracing(tstate);
    PyObject *result = PyObject_CallFunctionObjArgs(hook, name, args, NULL);
    PyThreadState_LeaveTracing(tstate);
    Py_DECREF(hook);
    Py_DECREF(name);
    if (result == NULL) {
        return -1;
    }
    Py_DECREF(result);
    return 0;
}

static PyObject *
ctrace_gate(PyObject *module, PyObject *hook)
{
    if (!audit_installed) {
        if (PySys_AddAuditHook(audit_gate_hook, NULL) < 0) {
            return NULL;
        }
        audit_installed = 1;
    }
    if (hook == Py_None) {
        Py_CLEAR(audit_forward);
    }
    else {
        Py_INCREF(hook);
        Py_XSETREF(audit_forward, hook);
    }
    Py_RETURN_NONE;
}

/* clone_rows(x, memo, keep, generic) -> list or None: the copies of the items of the list x as replay.py's clone makes
 * them one by one, where each item is an atom (an exact float, int, bool or str, or a NumPy scalar: an instance of the
 * class `generic`) or a list of atoms (the forum program's sample: 784 one-value lists of NumPy floats, its row's cells
 * divided by 255): an item whose id is in memo is its copy there; an atom is itself; a list of atoms is a new list
 * of the same atoms, put in memo under the id of the original (a list reached twice is copied once), the original
 * appended to keep (alive while the memo lives: its id is not reused). None at the first item of any other kind (the
 * caller copies the items in Python then: the lists copied so far are in memo, as clone would have put them). */
static int
clone_atom(PyObject *v, PyTypeObject *generic)
{
    PyTypeObject *t = Py_TYPE(v);
    return t == &PyFloat_Type || t == &PyLong_Type || t == &PyBool_Type || t == &PyUnicode_Type
           || PyType_IsSubtype(t, generic); /* (clone's issubclass(type(x), _ATOMIC) for them: a walk of the MRO) */
}

static PyObject *
ctrace_clone_rows(PyObject *module, PyObject *args)
{
    PyObject *x, *memo, *keep;
    PyTypeObject *generic;
    if (!PyArg_ParseTuple(args, "O!O!O!O!:clone_rows", &PyList_Type, &x, &PyDict_Type, &memo, &PyList_Type, &keep,
                          &PyType_Type, &generic)) {
        return NULL;
    }
    Py_ssize_t n = PyList_GET_SIZE(x);
    PyObject *out = PyList_New(n);
    if (out == NULL) {
        return NULL;
    }
    for (Py_ssize_t i = 0; i < n && i < PyList_GET_SIZE(x); i++) {
        PyObject *v = PyList_GET_ITEM(x, i);
        PyObject *key = PyLong_FromVoidPtr(v);
        if (key == NULL) {
            goto fail;
        }
        /* (v stays alive through the allocations below: a collection they start runs no code of ours, but might free
         * an item of x through a finalizer) */
        Py_INCREF(v);
        PyObject *found = PyDict_GetItemWithError(memo, key); /* (borrowed) */
        if (found != NULL || PyErr_Occurred() || clone_atom(v, generic)) {
            Py_DECREF(key);
            if (found == NULL && PyErr_Occurred()) {
                Py_DECREF(v);
                goto fail;
            }
            PyList_SET_ITEM(out, i, Py_NewRef(found != NULL ? found : v));
            Py_DECREF(v);
            continue;
        }
        if (!PyList_CheckExact(v)) {
            Py_DECREF(key);
            Py_DECREF(v);
            goto unread;
        }
        Py_ssize_t m = PyList_GET_SIZE(v);
        for (Py_ssize_t j = 0; j < m; j++) {
            if (!clone_atom(PyList_GET_ITEM(v, j), generic)) {
                Py_DECREF(key);
                Py_DECREF(v);
                goto unread;
            }
        }
        PyObject *copy = PyList_GetSlice(v, 0, m);
        if (copy == NULL || PyDict_SetItem(memo, key, copy) < 0 || PyList_Append(keep, v) < 0) {
            Py_XDECREF(copy);
            Py_DECREF(key);
            Py_DECREF(v);
            goto fail;
        }
        Py_DECREF(key);
        Py_DECREF(v);
        PyList_SET_ITEM(out, i, copy);
    }
    if (PyList_GET_SIZE(x) != n) {
        goto unread; /* (the list changed size: nothing here runs Python code, so it cannot; as a guard) */
    }
    return out;
unread:
    Py_DECREF(out);
    Py_RETURN_NONE;
fail:
    Py_DECREF(out);
    return NULL;
}

/* largest(now) -> (p, v): resets.py's BufferResets._set_last's pivot of the float64 entries of `now` (any contiguous
 * buffer of them: a look's bytes, or the array made of them): p the first position of the largest magnitude, a NaN
 * counted as 0.0 (as np.abs(now).argmax(), then the argmax of the held entries' magnitudes where that found a NaN: both
 * are 0 when nothing is held); v the entry there, or 0.0 when it is a NaN or zero. */
static PyObject *
ctrace_largest(PyObject *module, PyObject *now)
{
    Py_buffer view;
    if (PyObject_GetBuffer(now, &view, PyBUF_SIMPLE) < 0) {
        return NULL;
    }
    Py_ssize_t n = view.len / (Py_ssize_t)sizeof(double), p = 0;
    const char *bytes = (const char *)view.buf;
    double best = -1.0, v = 0.0;
    for (Py_ssize_t i = 0; i < n; i++) {
        double x;
        memcpy(&x, bytes + i * (Py_ssize_t)sizeof(double), sizeof(double));
        double size = x != x ? 0.0 : fabs(x);
        if (size > best) {
            best = size;
            p = i;
        }
    }
    if (n > 0) {
        memcpy(&v, bytes + p * (Py_ssize_t)sizeof(double), sizeof(double));
    }
    PyBuffer_Release(&view);
    if (v != v) {
        v = 0.0;
    }
    return Py_BuildValue("(nd)", p, v == 0.0 ? 0.0 : v);
}

/* added(now, last, pivot, held, zeros) -> (p, v) or None: the first two tests of resets.py's BufferResets._compare, the
 * ones a per-sample program's every look at its gradient function's call ends in, on two looks' float64 entries
 * (`now` and `last`, contiguous buffers of equal length): a gradient was added when the entry at `pivot`, `held` at the
 * last look (0.0: none held, the test skipped), grew or changed sign, or, `zeros` true, became anything but zero; or,
 * `zeros` true, when any entry changed to anything but zero (NaN differs from itself and from zero, as NumPy's `!=`
 * has it). Then the new pivot, as `largest(now)` finds it; None when neither test says so (the rest of the compare
 * decides in Python), or the buffers are not two of equal length. */
static PyObject *
ctrace_added(PyObject *module, PyObject *args)
{
    PyObject *now_obj, *last_obj;
    Py_ssize_t pivot;
    double held;
    int zeros;
    if (!PyArg_ParseTuple(args, "OOndp:added", &now_obj, &last_obj, &pivot, &held, &zeros)) {
        return NULL;
    }
    Py_buffer now, last;
    if (PyObject_GetBuffer(now_obj, &now, PyBUF_SIMPLE) < 0) {
        return NULL;
    }
    if (PyObject_GetBuffer(last_obj, &last, PyBUF_SIMPLE) < 0) {
        PyBuffer_Release(&now);
        return NULL;
    }
    Py_ssize_t n = now.len / (Py_ssize_t)sizeof(double);
    int found = 0;
    if (now.len == last.len && now.len % (Py_ssize_t)sizeof(double) == 0) {
        const char *a = (const char *)now.buf, *b = (const char *)last.buf;
        if (held != 0.0 && pivot >= 0 && pivot < n) {
            double v;
            memcpy(&v, a + pivot * (Py_ssize_t)sizeof(double), sizeof(double));
            if (v != held) {
                double k = v / held;
                found = !(0.0 <= k && k < 1.0) || (zeros && v != 0.0);
            }
        }
        for (Py_ssize_t i = 0; zeros && !found && i < n; i++) {
            double x, y;
            memcpy(&x, a + i * (Py_ssize_t)sizeof(double), sizeof(double));
            memcpy(&y, b + i * (Py_ssize_t)sizeof(double), sizeof(double));
            found = x != y && x != 0.0;
        }
    }
    PyBuffer_Release(&last);
    PyBuffer_Release(&now);
    if (!found) {
        Py_RETURN_NONE;
    }
    return ctrace_largest(module, now_obj);
}

static PyMethodDef ctrace_functions[] = {
    {"largest", (PyCFunction)ctrace_largest, METH_O,
     "largest(now) -> (p, v): the pivot of a look's float64 entries (see BufferResets._set_last)."},
    {"added", (PyCFunction)ctrace_added, METH_VARARGS,
     "added(now, last, pivot, held, zeros) -> (p, v) or None: a gradient added between two looks, and the new pivot (see BufferResets._compare)."},
    {"clone_rows", (PyCFunction)ctrace_clone_rows, METH_VARARGS,
     "clone_rows(x, memo, keep, generic) -> list or None: replay.clone's copies of a list's atoms and lists of atoms (see replay._clone_container)."},
    {"fingerprint", (PyCFunction)(void (*)(void))ctrace_fingerprint, METH_FASTCALL,
     "fingerprint(a, idx) -> (id(a), bytes of a's entries at flat positions idx), as arrays.fingerprint."},
    {"set_fingerprint", (PyCFunction)ctrace_set_fingerprint, METH_VARARGS,
     "set_fingerprint(fallback, ndarray): the Python fingerprint for what this one does not read, and numpy.ndarray."},
#if CTRACE_SUPPORTED
    {"scan", (PyCFunction)ctrace_scan, METH_VARARGS,
     "scan(root, paths, idxs) -> bytes: the ids and sampled entries of a root's float arrays, or None (see Discovery._scan)."},
    {"changed_roots", (PyCFunction)ctrace_changed_roots, METH_VARARGS,
     "changed_roots(roots, first, (Cell, FrameLocals), items) -> list: positions of the discovery roots C cannot show unchanged."},
    {"quick_moved", (PyCFunction)ctrace_quick_moved, METH_VARARGS,
     "quick_moved(root, paths, held, quick, seen) -> bool or None: whether a parameter moved at its quick entries (see updates._quick_moved)."},
    {"look_entries", (PyCFunction)ctrace_look_entries, METH_VARARGS,
     "look_entries(root, paths, idxs, float64, prev) -> bytes, False or None: the buffers' sampled entries (see BufferResets.look)."},
    {"sample_entries", (PyCFunction)ctrace_sample_entries, METH_VARARGS,
     "sample_entries(root, paths, idxs, out) -> bool: the buffers' sampled entries written into out (see updates._sample_buffers)."},
#endif
    {"gate", (PyCFunction)ctrace_gate, METH_O,
     "gate(hook): audit events go to hook(event, args) from now on (None: answered in C); installs the C hook once."},
    {NULL},
};

static struct PyModuleDef ctrace_module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "netdoctor.observe._ctrace",
    .m_doc = "The call filter under netdoctor's tracer (CPython 3.11; SUPPORTED says whether this build has it).",
    .m_size = -1,
    .m_methods = ctrace_functions,
};

PyMODINIT_FUNC
PyInit__ctrace(void)
{
    PyObject *module = PyModule_Create(&ctrace_module);
    if (module == NULL) {
        return NULL;
    }
    if (PyModule_AddIntConstant(module, "API", CTRACE_API) < 0 ||
        PyModule_AddIntConstant(module, "SUPPORTED", CTRACE_SUPPORTED) < 0 ||
        PyModule_AddStringConstant(module, "SOURCE", NETDOCTOR_SOURCE_TEXT) < 0) {
        goto error;
    }
#if CTRACE_SUPPORTED
    static const char *names[8] = {"call", "exception", "line", "return", "c_call", "c_exception", "c_return", "opcode"};
    for (int i = 0; i < 8; i++) {
        if (event_names[i] == NULL && (event_names[i] = PyUnicode_InternFromString(names[i])) == NULL) {
            goto error;
        }
    }
    if (muted_index < 0 && (muted_index = _PyEval_RequestCodeExtraIndex(free_heads)) < 0) {
        PyErr_SetString(PyExc_RuntimeError, "no code object extra slot left");
        goto error;
    }
    if (heads_index < 0 && (heads_index = _PyEval_RequestCodeExtraIndex(free_heads)) < 0) {
        PyErr_SetString(PyExc_RuntimeError, "no code object extra slot left");
        goto error;
    }
    if (extra_index < 0 && (extra_index = _PyEval_RequestCodeExtraIndex(NULL)) < 0) {
        PyErr_SetString(PyExc_RuntimeError, "no code object extra slot left");
        goto error;
    }
    if (PyType_Ready(&CallFilterType) < 0) {
        goto error;
    }
    /* filter.__module__, as a Python function has one: netdoctor's debugger watch (observe/control.py) tells its
     * own trace function from a debugger's by it, when a new thread installs the filter with sys.settrace */
    PyObject *name = PyUnicode_FromString("netdoctor.observe._ctrace");
    if (name == NULL || PyDict_SetItemString(CallFilterType.tp_dict, "__module__", name) < 0) {
        Py_XDECREF(name);
        goto error;
    }
    Py_DECREF(name);
    PyType_Modified(&CallFilterType);
    Py_INCREF(&CallFilterType);
    if (PyModule_AddObject(module, "CallFilter", (PyObject *)&CallFilterType) < 0) {
        Py_DECREF(&CallFilterType);
        goto error;
    }
#endif
    return module;
error:
    Py_DECREF(module);
    return NULL;
}
