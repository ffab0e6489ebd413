/* A small vector-math library in the style of MKL's VML: each function reads and writes n
   doubles (vml.h has the prototypes and their split annotations). Built by the tests and the
   benchmarks with the system C compiler: cc -O2 -shared -fPIC vml.c -o libvml.so -lm */
#include <math.h>

void vdAdd(long n, const double *a, const double *b, double *r) {
    for (long i = 0; i < n; i++) r[i] = a[i] + b[i];
}
void vdSub(long n, const double *a, const double *b, double *r) {
    for (long i = 0; i < n; i++) r[i] = a[i] - b[i];
}
void vdMul(long n, const double *a, const double *b, double *r) {
    for (long i = 0; i < n; i++) r[i] = a[i] * b[i];
}
void vdDiv(long n, const double *a, const double *b, double *r) {
    for (long i = 0; i < n; i++) r[i] = a[i] / b[i];
}
void vdExp(long n, const double *a, double *r) {
    for (long i = 0; i < n; i++) r[i] = exp(a[i]);
}
void vdLog(long n, const double *a, double *r) {
    for (long i = 0; i < n; i++) r[i] = log(a[i]);
}
void vdSqrt(long n, const double *a, double *r) {
    for (long i = 0; i < n; i++) r[i] = sqrt(a[i]);
}
void vdErf(long n, const double *a, double *r) {
    for (long i = 0; i < n; i++) r[i] = erf(a[i]);
}
void vdInv(long n, const double *a, double *r) {
    for (long i = 0; i < n; i++) r[i] = 1.0 / a[i];
}
void vdScale(long n, const double *a, double s, double *r) {
    for (long i = 0; i < n; i++) r[i] = a[i] * s;
}
void vdAddScalar(long n, const double *a, double s, double *r) {
    for (long i = 0; i < n; i++) r[i] = a[i] + s;
}
double vdSum(long n, const double *a) {
    double s = 0.0;
    for (long i = 0; i < n; i++) s += a[i];
    return s;
}
double vdMax(long n, const double *a) {
    double m = -INFINITY;
    for (long i = 0; i < n; i++) m = a[i] > m ? a[i] : m;
    return m;
}
