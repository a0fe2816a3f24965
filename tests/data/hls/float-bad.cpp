int top(int a, int b) {
  float x = float(a) * 0.5f; // expect-error[unsupported-construct]: floating-point type 'float'
  return int(x) + b;
}
