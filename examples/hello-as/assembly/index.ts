// hello-as: the smallest AssemblyScript worker.
import { Request, Response, console } from "@edge/guest";

export function fetch(request: Request): Response {
  console.log(request.method + " " + request.path);
  return Response.text("hello from " + request.url + "\n");
}
