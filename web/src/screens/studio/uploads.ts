import { api, unwrap } from "../../api/client";

export type UploadType = "image/png" | "image/jpeg" | "image/webp";
export const UPLOAD_TYPES: readonly string[] = ["image/png", "image/jpeg", "image/webp"];

/** Uploads a reference image through the presigned POST the API hands out; returns its upload id. */
export async function uploadReference(file: File): Promise<string> {
  if (!UPLOAD_TYPES.includes(file.type)) throw new Error("Use a PNG, JPEG or WebP image.");
  const created = await unwrap(
    api.POST("/v1/uploads", {
      body: {
        filename: file.name || "reference",
        content_type: file.type as UploadType,
        size_bytes: file.size,
      },
    }),
  );
  const form = new FormData();
  for (const [name, value] of Object.entries(created.upload.fields)) form.append(name, value);
  form.append("file", file); // the file comes last, as the presigned POST requires
  const stored = await fetch(created.upload.url, { method: "POST", body: form });
  if (!stored.ok) throw new Error(`The image could not be stored (HTTP ${stored.status}).`);
  return created.id;
}
