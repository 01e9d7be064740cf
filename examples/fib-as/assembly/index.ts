// fib-as: fib(n) for `?n=`, computed the naive recursive way on purpose, so that a large n meets the fuel limit.
import { Request, Response } from "@edge/guest";

function fib(n: i32): u64 {
  return n < 2 ? <u64>n : fib(n - 1) + fib(n - 2);
}

export function fetch(request: Request): Response {
  const n = request.searchParams.get("n");
  if (n == null) return Response.text("usage: /?n=20\n", 400);
  const value = I32.parseInt(n, 10);
  if (value < 0 || value > 92 || value.toString() != n) return Response.text("n must be an integer from 0 to 92\n", 400);
  return Response.text("fib(" + value.toString() + ") = " + fib(value).toString() + "\n");
}
