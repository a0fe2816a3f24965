// Two functions with the top's name: the top must be unique.
int top(int x) { return x + 1; }
int top(int x, int y) { return x + y; } // expect-error[unknown-top]: overloaded
