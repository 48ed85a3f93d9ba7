// docker buildx bake: one image, two architectures.
variable "REGISTRY" { default = "localhost" }
variable "TAG" { default = "dev" }

group "default" { targets = ["skills-registry"] }

target "skills-registry" {
  context    = "."
  dockerfile = "Dockerfile"
  platforms  = ["linux/amd64", "linux/arm64"]
  tags       = ["${REGISTRY}/skills-registry:${TAG}"]
  labels = {
    "org.opencontainers.image.title"  = "Skills Registry"
    "org.opencontainers.image.source" = "skills-registry"
  }
}
