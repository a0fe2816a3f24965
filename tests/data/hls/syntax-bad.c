int top(int x) {
  return x +* ; // expect-error[c-error]: expected expression
}
