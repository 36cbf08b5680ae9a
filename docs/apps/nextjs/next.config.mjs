// Next.js configuration for the Lambda image: nothing here is Lambda-specific except that the build is done at
// image build time (the image's file system is read-only) and `next start` runs with the build's output.
/** @type {import('next').NextConfig} */
const nextConfig = {
  poweredByHeader: false,
  // gzip of pages, route handlers and static assets by `next start` itself (on by default, said for the reader).
  compress: true,
  async redirects() {
    return [
      // A permanent redirect (308) and a temporary one (307) with a parameter carried into the query.
      { source: "/catalogue", destination: "/books", permanent: true },
      { source: "/sprache/:lang", destination: "/books?lang=:lang", permanent: false },
    ];
  },
  async headers() {
    return [{ source: "/files/:path*", headers: [{ key: "Cache-Control", value: "public, max-age=60" }] }];
  },
};

export default nextConfig;
