// daybreak's CUDA runtime: what every generated program's source starts with.
//
// It compiles three ways: with NVRTC (CuPy's RawModule, which has no standard headers, so
// nothing here includes one), with nvcc (the compile checks of the test suite), and as plain
// C++ after emulate.h (the CPU emulation that runs the same kernels on threads).
//
// The execution model (docs/cuda.md): one cooperative kernel per program. Every thread runs
// the program's code; code outside parallel loops is *uniform* (every thread computes the
// same values, so no thread waits for another), a top-level `for` splits its iterations in
// contiguous chunks across the grid and ends with a grid-wide barrier. Memory comes from an
// arena the host allocates: uniform allocations bump a cursor that every thread keeps alike,
// allocations inside loop bodies bump a shared one atomically.

typedef bool db_bool;
typedef signed char db_i8;
typedef short db_i16;
typedef int db_i32;
typedef long long db_i64;
typedef unsigned char db_u8;
typedef unsigned short db_u16;
typedef unsigned int db_u32;
typedef unsigned long long db_u64;
typedef float db_f32;
typedef double db_f64;

#define DB_FN __device__ __forceinline__

template <class T>
struct db_vec {
  T *data;
  db_i64 len;
};

// Written by the kernel, read by the host after the launch (zeroed before it).
struct db_status {
  db_u64 error;    // (region << 16) | code of the first failure in time; 0: none
  db_u64 need;     // bytes an allocation that did not fit asked for
  db_u64 tcursor;  // bytes of the arena's upper half handed out inside loop bodies
  db_u64 first;    // (iteration << 16) | code of the failure first in loop order (~0: none)
};

enum { DB_ARENA_FULL = 1, DB_FIRST_SITE = 2 };

struct db_grid {
  db_i64 rank;     // this thread, 0 .. size-1
  db_i64 size;     // threads in the grid
  db_i64 block;    // this thread's block
  db_i64 blocks;   // blocks in the grid
  db_i64 width;    // threads per block
  db_i64 lane;     // this thread in its block
  char *arena;
  db_i64 half;     // bytes in each half of the arena
  db_i64 cursor;   // the uniform cursor (the same in every thread)
  db_i64 region;   // grid barriers passed so far (the same in every thread)
  db_i64 iteration;  // the parallel loop's iteration this thread runs (0 outside loops)
  db_status *status;
  bool failed;     // this thread recorded or saw a failure
};

DB_FN db_grid db_grid_make(char *arena, db_i64 cap, db_status *status) {
  db_grid g;
  g.width = blockDim.x;
  g.blocks = gridDim.x;
  g.block = blockIdx.x;
  g.lane = threadIdx.x;
  g.rank = g.block * g.width + g.lane;
  g.size = g.blocks * g.width;
  g.arena = arena;
  g.half = (cap / 2) & ~(db_i64)15;
  g.cursor = 0;
  g.region = 0;
  g.iteration = 0;
  g.status = status;
  g.failed = false;
  return g;
}

// The first failure in time stops the program; its word carries the region it happened in,
// so that a thread that already passed the region's barrier cannot mistake a later region's
// failure for its own. The one reported is the first in loop order (as the interpreter
// would meet it): the smallest iteration of the failing region's loop.
DB_FN void db_fail(db_grid &g, int code) {
  db_u64 word = ((db_u64)g.region << 16) | (db_u64)code;
  atomicCAS(&g.status->error, 0ULL, word);
  atomicMin(&g.status->first, ((db_u64)g.iteration << 16) | (db_u64)code);
  g.failed = true;
}

DB_FN void db_fail_need(db_grid &g, db_i64 bytes) {
  atomicMax(&g.status->need, (db_u64)bytes);
  db_fail(g, DB_ARENA_FULL);
}

// After a barrier: did anything fail in the regions up to this one?
DB_FN bool db_failed_before(db_grid &g) {
  db_u64 word = *(volatile db_u64 *)&g.status->error;
  return word != 0 && (db_i64)(word >> 16) < g.region;
}

// The grid-wide barrier that ends a parallel loop; returns false when the program must stop.
DB_FN bool db_sync(db_grid &g) {
  __threadfence();
  db_grid_barrier();
  g.region += 1;
  if (db_failed_before(g)) {
    g.failed = true;
    return false;
  }
  return true;
}

// Uniform memory (the arena's lower half): every thread computes the same addresses.
DB_FN void *db_ualloc(db_grid &g, db_i64 bytes) {
  db_i64 size = (bytes + 15) & ~(db_i64)15;
  if (bytes < 0 || size > g.half - g.cursor) {
    db_fail_need(g, g.cursor + (bytes < 0 ? 0 : size));
    return 0;
  }
  void *p = g.arena + g.cursor;
  g.cursor += size;
  return p;
}

// Memory inside loop bodies (the upper half), handed out atomically.
DB_FN void *db_talloc(db_grid &g, db_i64 bytes) {
  db_u64 size = ((db_u64)bytes + 15) & ~(db_u64)15;
  db_u64 at = atomicAdd(&g.status->tcursor, size);
  if (bytes < 0 || at + size > (db_u64)g.half) {
    db_fail_need(g, (db_i64)(at + size));
    return 0;
  }
  return g.arena + g.half + at;
}

// This thread's contiguous share [lo, hi) of n iterations (order is kept: thread r's share
// comes before thread r+1's).
DB_FN void db_chunk(db_grid &g, db_i64 n, db_i64 &lo, db_i64 &hi) {
  db_i64 per = n / g.size, extra = n % g.size;
  lo = g.rank * per + (g.rank < extra ? g.rank : extra);
  hi = lo + per + (g.rank < extra ? 1 : 0);
}

// The block's contiguous share [lo, hi) of n iterations, whose threads take every width-th
// one from lo + lane: neighbouring threads read neighbouring elements (coalesced), for loops
// whose results do not depend on which thread ran an iteration.
DB_FN void db_block_chunk(db_grid &g, db_i64 n, db_i64 &lo, db_i64 &hi) {
  db_i64 per = n / g.blocks, extra = n % g.blocks;
  lo = g.block * per + (g.block < extra ? g.block : extra);
  hi = lo + per + (g.block < extra ? 1 : 0);
}

template <class T>
DB_FN void db_copy(T *to, const T *from, db_i64 n) {
  for (db_i64 k = 0; k < n; ++k) to[k] = from[k];
}

// ---- scalar semantics (docs/ir.md) -------------------------------------------------------

template <class T> struct db_traits;
#define DB_INT_TRAITS(T, U, SIGNED, BITS)                    \
  template <> struct db_traits<T> {                          \
    typedef U unsigned_t;                                    \
    static const bool is_signed = SIGNED;                    \
    static const int bits = BITS;                            \
  };
DB_INT_TRAITS(db_i8, db_u8, true, 8)
DB_INT_TRAITS(db_i16, db_u16, true, 16)
DB_INT_TRAITS(db_i32, db_u32, true, 32)
DB_INT_TRAITS(db_i64, db_u64, true, 64)
DB_INT_TRAITS(db_u8, db_u8, false, 8)
DB_INT_TRAITS(db_u16, db_u16, false, 16)
DB_INT_TRAITS(db_u32, db_u32, false, 32)
DB_INT_TRAITS(db_u64, db_u64, false, 64)

// Integers wrap: the arithmetic is done on the unsigned type.
template <class T> DB_FN T db_iadd(T a, T b) {
  typedef typename db_traits<T>::unsigned_t U;
  return (T)(U)((U)a + (U)b);
}
template <class T> DB_FN T db_isub(T a, T b) {
  typedef typename db_traits<T>::unsigned_t U;
  return (T)(U)((U)a - (U)b);
}
template <class T> DB_FN T db_imul(T a, T b) {
  typedef typename db_traits<T>::unsigned_t U;
  // (u16 * u16 promotes to int, which may overflow: widen to u64 first)
  return (T)(U)((db_u64)(U)a * (db_u64)(U)b);
}
template <class T> DB_FN T db_ineg(T a) {
  typedef typename db_traits<T>::unsigned_t U;
  return (T)(U)((U)0 - (U)a);
}
// x / 0 == 0, MIN / -1 == MIN; the remainder has the dividend's sign, x % 0 == 0.
template <class T> DB_FN T db_idiv(T a, T b) {
  if (b == 0) return 0;
  if (db_traits<T>::is_signed && b == (T)-1) return db_ineg(a);
  return (T)(a / b);
}
template <class T> DB_FN T db_irem(T a, T b) {
  if (b == 0) return 0;
  if (db_traits<T>::is_signed && b == (T)-1) return 0;
  return (T)(a % b);
}
// NumPy's shifts: the amount read as unsigned; past the width, 0 (or -1 shifting a negative
// signed value right).
template <class T> DB_FN T db_shl(T a, T b) {
  typedef typename db_traits<T>::unsigned_t U;
  U n = (U)b;
  if (n >= (U)db_traits<T>::bits) return 0;
  return (T)(U)((db_u64)(U)a << n);
}
template <class T> DB_FN T db_shr(T a, T b) {
  typedef typename db_traits<T>::unsigned_t U;
  U n = (U)b;
  if (n >= (U)db_traits<T>::bits) return (db_traits<T>::is_signed && a < 0) ? (T)-1 : (T)0;
  return (T)(a >> n);
}
template <class T> DB_FN T db_iabs(T a) { return (db_traits<T>::is_signed && a < 0) ? db_ineg(a) : a; }

// An integer of any type as an index: unsigned values past the largest i64 stay past it.
template <class T> DB_FN db_i64 db_index(T x) {
  if (!db_traits<T>::is_signed && (db_u64)x > 0x7fffffffffffffffULL) return 0x7fffffffffffffffLL;
  return (db_i64)x;
}

// min and max: NaN if either is NaN, and -0.0 below 0.0.
template <class T> DB_FN T db_fmin(T a, T b) {
  if (a != a) return a;
  if (b != b) return b;
  if (a < b) return a;
  if (b < a) return b;
  return signbit(a) ? a : b;
}
template <class T> DB_FN T db_fmax(T a, T b) {
  if (a != a) return a;
  if (b != b) return b;
  if (a > b) return a;
  if (b > a) return b;
  return signbit(a) ? b : a;
}
template <class T> DB_FN T db_min(T a, T b) { return b < a ? b : a; }
template <class T> DB_FN T db_max(T a, T b) { return a < b ? b : a; }

// Float to integer casts truncate and saturate; NaN gives 0. `lo` and `hi` are the target's
// bounds as floats: lo exact (-2^(w-1) or 0), hi the first value past the maximum (2^w...).
template <class To, class From> DB_FN To db_ftoi(From x, From lo, From hi, To min, To max) {
  if (x != x) return 0;
  if (x <= lo) return min;
  if (x >= hi) return max;
  return (To)x;
}

DB_FN db_f64 db_f64_bits(db_u64 bits) {
  union { db_u64 u; db_f64 f; } v;
  v.u = bits;
  return v.f;
}
DB_FN db_f32 db_f32_bits(db_u32 bits) {
  union { db_u32 u; db_f32 f; } v;
  v.u = bits;
  return v.f;
}

// ---- atomics for vecmergers (compare-and-swap on the word that holds the element) ---------

template <class T> struct db_plus { DB_FN static T apply(T a, T b) { return a + b; } };

template <class T, class Op> DB_FN void db_atomic_merge(T *p, T v) {
  if (sizeof(T) == 8) {
    db_u64 *w = (db_u64 *)p;
    db_u64 old = *(volatile db_u64 *)w, seen;
    do {
      seen = old;
      union { db_u64 u; T t; } a, b;
      a.u = seen;
      b.t = Op::apply(a.t, v);
      old = atomicCAS(w, seen, b.u);
    } while (old != seen);
  } else {
    // 1, 2 and 4 bytes: the aligned 32-bit word around the element
    db_u64 addr = (db_u64)p;
    db_u32 *w = (db_u32 *)(addr & ~(db_u64)3);
    int shift = (int)(addr & 3) * 8;
    db_u32 mask = sizeof(T) == 4 ? 0xffffffffu : (((1u << (sizeof(T) * 8)) - 1u) << shift);
    db_u32 old = *(volatile db_u32 *)w, seen;
    do {
      seen = old;
      union { db_u32 u; T t; } a, b;
      a.u = sizeof(T) == 4 ? seen : (seen & mask) >> shift;
      b.u = 0;
      b.t = Op::apply(a.t, v);
      db_u32 bits = sizeof(T) == 4 ? b.u : ((b.u << shift) & mask);
      old = atomicCAS(w, seen, (seen & ~mask) | bits);
    } while (old != seen);
  }
}

// ---- builders of code running on one thread (loop bodies, nested loops) ------------------

// An appender's storage while one thread fills it: grown by doubling in the upper half.
template <class T>
struct db_tbuf {
  T *data;
  db_i64 len;
  db_i64 cap;
};

template <class T>
DB_FN bool db_push(db_grid &g, db_tbuf<T> &b, T v) {
  if (b.len == b.cap) {
    db_i64 cap = b.cap ? 2 * b.cap : 8;
    T *grown = (T *)db_talloc(g, cap * (db_i64)sizeof(T));
    if (!grown) return false;
    db_copy(grown, b.data, b.len);
    b.data = grown;
    b.cap = cap;
  }
  b.data[b.len++] = v;
  return true;
}

// ---- grid-wide prefix sums ---------------------------------------------------------------

// Each thread gives `mine`; gets the sum of the threads before it (`offset`) and of all
// (`total`). `per_thread` (g.size) and `per_block` (g.blocks) are uniform scratch. Two grid
// barriers; false when the program must stop.
DB_FN bool db_grid_scan(db_grid &g, db_i64 mine, db_i64 *per_thread, db_i64 *per_block,
                        db_i64 &offset, db_i64 &total) {
  per_thread[g.rank] = mine;
  if (!db_sync(g)) return false;
  if (g.rank < g.blocks) {
    db_i64 s = 0;
    for (db_i64 t = 0; t < g.width; ++t) s += per_thread[g.rank * g.width + t];
    per_block[g.rank] = s;
  }
  if (!db_sync(g)) return false;
  offset = 0;
  total = 0;
  for (db_i64 b = 0; b < g.blocks; ++b) {
    db_i64 s = per_block[b];
    total += s;
    if (b < g.block) offset += s;
  }
  for (db_i64 t = g.block * g.width; t < g.rank; ++t) offset += per_thread[t];
  return true;
}
