// The end-to-end story, written against the client generated from
// web/openapi.json (openapi-typescript's types, openapi-fetch's calls) and
// type-checked by TypeScript before it runs: a shopper signs up, joins a
// brand, sets her preferences; the brand's admin reads the member view.
// A field, parameter or route the document gets wrong fails here, either
// at type-check or when the story's checks run against the real server.
import createClient from "openapi-fetch";
import type { paths } from "./generated/api.js";

function fail(what: string, r: { response: Response; error?: unknown }): never {
  throw new Error(`${what}: ${r.response.status} ${JSON.stringify(r.error)}`);
}

export async function story(baseUrl: string, email: string): Promise<string[]> {
  const steps: string[] = [];
  const api = createClient<paths>({ baseUrl });

  const signup = await api.POST("/v1/customers", {
    body: { name: "Ada Contract", email, password: "a-long-enough-password" },
  });
  if (!signup.data) fail("sign up", signup);
  const token: string = signup.data.token;
  const me = { headers: { Authorization: `Bearer ${token}` } };
  steps.push(`signed up as ${signup.data.id}`);

  const brands = await api.GET("/v1/brands", {});
  if (!brands.data) fail("brands", brands);
  const brand = brands.data.items.find((b) => b.slug === "pike-pine");
  if (!brand) throw new Error("the demo brand pike-pine is not listed");

  const choices = await api.GET("/v1/brands/{brand}/choices", { params: { path: { brand: brand.id } } });
  if (!choices.data) fail("choices", choices);
  const usual = choices.data.choices.find((c) => c.key === "usual");
  const flatWhite = usual?.options?.[2];
  if (!flatWhite) throw new Error("no 'usual' choice with three options");

  const join = await api.PUT("/v1/me/brands/{brand}", {
    ...me, params: { path: { brand: brand.id } },
    body: { purposes: ["recognition", "preferences"] },
  });
  if (!join.data) fail("join", join);
  steps.push(`joined ${brand.name} for ${join.data.purposes.join(", ")}`);

  const prefs = await api.PUT("/v1/me/brands/{brand}/preferences", {
    ...me, params: { path: { brand: brand.id } },
    body: { answers: { usual: flatWhite, room_for_cream: true }, dont: ["receipt"] },
  });
  if (!prefs.data) fail("preferences", prefs);
  steps.push(`answered: usual = ${String(prefs.data.answers.usual)}`);

  const staff = await api.POST("/v1/sessions", {
    body: { email: "admin@pike-pine.example", password: "shopkeeper-demo" },
  });
  if (!staff.data) fail("staff sign-in", staff);
  const view = await api.GET("/v1/brands/{brand}/members/{customer}", {
    headers: { Authorization: `Bearer ${staff.data.token}` },
    params: { path: { brand: brand.id, customer: signup.data.id } },
  });
  if (!view.data) fail("member view", view);
  if (view.data.preferences?.answers.usual !== flatWhite)
    throw new Error(`the member view shows ${JSON.stringify(view.data.preferences)}`);
  steps.push(`the admin sees ${view.data.name} and the usual ${String(view.data.preferences?.answers.usual)}`);
  return steps;
}
