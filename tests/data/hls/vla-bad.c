int top(int n, int k) {
  int buf[n]; // expect-error[unsupported-construct]: array of run-time size
  for (int i = 0; i < n; i++)
    buf[i] = i * k;
  return buf[k % n];
}
