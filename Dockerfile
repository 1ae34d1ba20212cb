# attestd server image. Build: docker build -t attestd .
# docker-compose.yml runs two replicas of it on PostgreSQL (deploy/README.md).
FROM node:24-bookworm-slim AS build
WORKDIR /app
# npm ci's postinstall runs `prisma generate`, which reads prisma.config.ts
# and prisma/schema.prisma and writes libs/persistence/generated.
COPY package.json package-lock.json prisma.config.ts ./
COPY prisma ./prisma
RUN npm ci --no-audit --no-fund
COPY tsconfig.json .swcrc ./
COPY apps ./apps
COPY libs ./libs
# COPY libs may bring a generated client from the build context over the one
# npm ci made; generate it again so it matches this schema and Prisma. SWC
# compiles apps/ and libs/ (generated client included) to dist/ and copies
# the other files beside them (the aws_iid certificates in
# dist/libs/attestors/aws-iid/certs). Then drop the dev dependencies.
RUN npm run database:generate && npm run build && npm prune --omit=dev

FROM node:24-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production ATTESTD_LISTEN=0.0.0.0:8080
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY --from=build /app/package.json ./
# applied at start by the server's migrator (found by walking up from dist/)
COPY prisma/migrations ./prisma/migrations
COPY policies ./policies
# ./data is only written in embedded (PGlite) mode, when DATABASE_URL is unset.
# It must be the server user's and 0700, or the server refuses to start (a
# volume mounted there keeps these if it is new). On PostgreSQL, set
# ATTESTD_KEY_ENCRYPTION_KEY (or _FILE), the same on every replica
# (docs/operations/security.md, "Key custody").
RUN mkdir -p /app/data && chown node:node /app/data && chmod 700 /app/data
USER node
EXPOSE 8080
CMD ["node", "--enable-source-maps", "dist/apps/server/main.js"]
