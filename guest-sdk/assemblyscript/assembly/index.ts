// @ts-nocheck: AssemblyScript, compiled by asc, not by tsc.
// @edge/guest: the AssemblyScript API of a worker. Re-exports only.

export { Header, Headers } from "./headers";
export { BodyReader, Request } from "./request";
export { Response, ResponseWriter } from "./response";
export { URL, URLSearchParams, SearchParam, decodeURIComponentLenient, decodeFormComponent, encodeFormComponent } from "./url";
export { Console, console } from "./console";
export { Vars, vars } from "./vars";
export { jsonString, parseJsonString } from "./json";
export { utf8Decode, utf8Encode } from "./utf8";
