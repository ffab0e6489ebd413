// A small vector-math library in the style of MKL's VML (vml.c), with split annotations.
// Each function reads and writes n doubles.

// @splittable(a: S, b: S, r: mut S)
void vdAdd(long n, const double *a, const double *b, double *r);
// @splittable(a: S, b: S, r: mut S)
void vdSub(long n, const double *a, const double *b, double *r);
// @splittable(a: S, b: S, r: mut S)
void vdMul(long n, const double *a, const double *b, double *r);
// @splittable(a: S, b: S, r: mut S)
void vdDiv(long n, const double *a, const double *b, double *r);
// @splittable(a: S, r: mut S)
void vdExp(long n, const double *a, double *r);
// @splittable(a: S, r: mut S)
void vdLog(long n, const double *a, double *r);
// @splittable(a: S, r: mut S)
void vdSqrt(long n, const double *a, double *r);
// @splittable(a: S, r: mut S)
void vdErf(long n, const double *a, double *r);
// @splittable(a: S, r: mut S)
void vdInv(long n, const double *a, double *r);
// @splittable(a: S, s: broadcast, r: mut S)
void vdScale(long n, const double *a, double s, double *r);
// @splittable(a: S, s: broadcast, r: mut S)
void vdAddScalar(long n, const double *a, double s, double *r);
// @splittable(a: S, returns: sum)
double vdSum(long n, const double *a);
// @splittable(a: S, returns: max)
double vdMax(long n, const double *a);
