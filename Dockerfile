# Firebreak production image.
#
# One image for every role: `firebreak serve` starts the processes named in
# FIREBREAK_ROLES (worker, intake, slack), so the compose file and the
# Kubernetes manifests run N copies of the same image with a different role.
# TypeScript runs through tsx (a runtime dependency), so there is no build step.
#
# Debian (glibc) rather than Alpine: the Temporal worker's native core bridge and
# @swc/core ship prebuilt binaries for linux-gnu.
FROM node:20.20.2-bookworm-slim

ENV NODE_ENV=production \
    NPM_CONFIG_UPDATE_NOTIFIER=false \
    NPM_CONFIG_FUND=false \
    FIREBREAK_DATA_DIR=/var/lib/firebreak

WORKDIR /app

# Dependencies first, so that a source change does not reinstall them.
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit \
    && npm cache clean --force

COPY tsconfig.json ./
COPY bin/ ./bin/
COPY src/ ./src/
COPY workflows/ ./workflows/
COPY activities/ ./activities/
COPY runbooks/ ./runbooks/

# The code stays owned by root and read-only to the app; the only writable place
# is the evidence store (a volume in production). A named volume mounted here
# starts with this directory's ownership.
RUN mkdir -p /var/lib/firebreak \
    && chown node:node /var/lib/firebreak \
    && chmod 0750 /var/lib/firebreak

# The `node` user of the base image, by number so that Kubernetes'
# runAsNonRoot can verify it.
USER 1000:1000

ENTRYPOINT ["node", "bin/firebreak.js"]
CMD ["serve"]
