#!/usr/bin/env bash
# Packs the libraries into a local folder feed and builds and runs tests/PackageConsumer against it from a folder
# outside the repository (PackageReference only, its own NuGet.config: the local feed plus nuget.org for the
# dependencies). It loads the bundled micro model and answers one question at two efforts. Exit code 0 when it did.
# Each run packs a version of its own (0.1.0-ci.<time>.<pid>), so NuGet's global cache can never hand back an older
# package; that version is removed from the cache afterwards.
set -uo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
work="$(mktemp -d)"
suffix="ci.$(date +%s).$$"
version="0.1.0-$suffix"
cleanup() {
  rm -rf "$work"
  for id in recurrentdepth.abstractions recurrentdepth.core recurrentdepth.semantickernel; do
    rm -rf "${NUGET_PACKAGES:-$HOME/.nuget/packages}/$id/$version"
  done
}
trap cleanup EXIT

cp -r "$repo/tests/PackageConsumer" "$work/app"
rm -rf "$work/app/bin" "$work/app/obj" "$work/app/feed"
for project in src/Abstractions/RecurrentDepth.Abstractions.csproj src/Core/RecurrentDepth.Core.csproj src/Connector/RecurrentDepth.SemanticKernel.csproj; do
  dotnet pack "$repo/$project" -c Release --version-suffix "$suffix" -o "$work/app/feed" -nologo -v:q || exit $?
done
echo "package consumer: packed $(cd "$work/app/feed" && ls *.nupkg *.snupkg | tr '\n' ' ')"
(cd "$work/app" && dotnet build -c Release -nologo -v:q -p:RecurrentDepthVersion="$version" -o "$work/out") || exit $?
dotnet "$work/out/PackageConsumer.dll" "$repo/models/huginn-micro-arith"
