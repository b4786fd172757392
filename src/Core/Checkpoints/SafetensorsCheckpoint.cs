using System.Text.Json;
using static TorchSharp.torch;

namespace RecurrentDepth.Checkpoints;

/// <summary>
/// The weights of one checkpoint: a single <c>model.safetensors</c>, or Hugging Face shards listed by
/// <c>model.safetensors.index.json</c>. Tensors are looked up by name across files.
/// </summary>
public sealed class SafetensorsCheckpoint : IDisposable
{
    /// <summary>File name of the Hugging Face shard index.</summary>
    public const string IndexFileName = "model.safetensors.index.json";

    /// <summary>File name of a single-file checkpoint.</summary>
    public const string SingleFileName = "model.safetensors";

    private readonly Dictionary<string, SafetensorsFile> _byTensor;
    private readonly List<SafetensorsFile> _files;

    private SafetensorsCheckpoint(List<SafetensorsFile> files, Dictionary<string, SafetensorsFile> byTensor)
    {
        _files = files;
        _byTensor = byTensor;
    }

    /// <summary>The files that make up the checkpoint.</summary>
    public IReadOnlyList<SafetensorsFile> Files => _files;

    /// <summary>Every tensor name in the checkpoint.</summary>
    public IReadOnlyCollection<string> TensorNames => _byTensor.Keys;

    /// <summary>Total bytes of tensor data across files.</summary>
    public long TotalBytes => _files.Sum(f => f.Tensors.Values.Sum(t => t.ByteLength));

    /// <summary>
    /// Opens a checkpoint from a folder (index first, then <c>model.safetensors</c>), an index file, or one
    /// <c>.safetensors</c> file.
    /// </summary>
    /// <param name="path">Folder or file path.</param>
    /// <exception cref="FileNotFoundException">Nothing loadable is at the path, or a shard named in the index is absent.</exception>
    /// <exception cref="InvalidDataException">A file or the index is malformed, or a tensor appears in two files.</exception>
    public static SafetensorsCheckpoint Open(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        var full = Path.GetFullPath(path);
        if (Directory.Exists(full))
        {
            var index = Path.Combine(full, IndexFileName);
            if (File.Exists(index))
            {
                return OpenIndex(index);
            }

            var single = Path.Combine(full, SingleFileName);
            if (File.Exists(single))
            {
                return OpenFiles([single]);
            }

            throw new FileNotFoundException($"Checkpoint folder '{full}' has neither {IndexFileName} nor {SingleFileName}.", single);
        }

        if (full.EndsWith(".json", StringComparison.OrdinalIgnoreCase))
        {
            return OpenIndex(full);
        }

        return OpenFiles([full]);
    }

    /// <summary>Looks up which file holds a tensor and its header entry.</summary>
    public bool TryGetInfo(string name, out SafetensorsTensorInfo info, out SafetensorsFile file)
    {
        if (_byTensor.TryGetValue(name, out file!))
        {
            info = file.Tensors[name];
            return true;
        }

        info = null!;
        return false;
    }

    /// <summary>Reads a tensor as stored, on the CPU; the caller owns the result.</summary>
    /// <exception cref="KeyNotFoundException">The checkpoint has no tensor of that name.</exception>
    public Tensor Read(string name) =>
        _byTensor.TryGetValue(name, out var file)
            ? file.Read(name)
            : throw new KeyNotFoundException($"Checkpoint has no tensor named '{name}' (files: {string.Join(", ", _files.Select(f => Path.GetFileName(f.Path)))}).");

    /// <inheritdoc />
    public void Dispose()
    {
        foreach (var file in _files)
        {
            file.Dispose();
        }
    }

    private static SafetensorsCheckpoint OpenIndex(string indexPath)
    {
        if (!File.Exists(indexPath))
        {
            throw new FileNotFoundException($"Shard index '{indexPath}' does not exist.", indexPath);
        }

        var folder = Path.GetDirectoryName(indexPath)!;
        Dictionary<string, string> weightMap;
        try
        {
            using var doc = JsonDocument.Parse(File.ReadAllBytes(indexPath));
            if (!doc.RootElement.TryGetProperty("weight_map", out var map) || map.ValueKind != JsonValueKind.Object)
            {
                throw new InvalidDataException($"{indexPath}: no 'weight_map' object.");
            }

            weightMap = [];
            foreach (var entry in map.EnumerateObject())
            {
                if (entry.Value.ValueKind != JsonValueKind.String)
                {
                    throw new InvalidDataException($"{indexPath}: weight_map entry '{entry.Name}' is not a file name.");
                }

                weightMap[entry.Name] = entry.Value.GetString()!;
            }
        }
        catch (JsonException ex)
        {
            throw new InvalidDataException($"{indexPath}: invalid JSON ({ex.Message}).", ex);
        }

        var shardNames = weightMap.Values.Distinct(StringComparer.Ordinal).ToList();
        foreach (var shard in shardNames)
        {
            var shardPath = Path.Combine(folder, shard);
            if (!File.Exists(shardPath))
            {
                var example = weightMap.First(kv => kv.Value == shard).Key;
                throw new FileNotFoundException($"{indexPath}: shard '{shard}' (holding '{example}' among others) is named in the index but absent from '{folder}'.", shardPath);
            }
        }

        var checkpoint = OpenFiles(shardNames.Select(s => Path.Combine(folder, s)).ToList());
        foreach (var (tensor, shard) in weightMap)
        {
            if (!checkpoint._byTensor.TryGetValue(tensor, out var file))
            {
                checkpoint.Dispose();
                throw new InvalidDataException($"{indexPath}: the index places '{tensor}' in '{shard}', but that shard has no such tensor.");
            }

            if (!string.Equals(Path.GetFileName(file.Path), shard, StringComparison.Ordinal))
            {
                checkpoint.Dispose();
                throw new InvalidDataException($"{indexPath}: the index places '{tensor}' in '{shard}', but it is in '{Path.GetFileName(file.Path)}'.");
            }
        }

        return checkpoint;
    }

    private static SafetensorsCheckpoint OpenFiles(IReadOnlyList<string> paths)
    {
        var files = new List<SafetensorsFile>();
        var byTensor = new Dictionary<string, SafetensorsFile>(StringComparer.Ordinal);
        try
        {
            foreach (var path in paths)
            {
                var file = SafetensorsFile.Open(path);
                files.Add(file);
                foreach (var name in file.Tensors.Keys)
                {
                    if (byTensor.TryGetValue(name, out var other))
                    {
                        throw new InvalidDataException($"Tensor '{name}' appears in both '{other.Path}' and '{file.Path}'.");
                    }

                    byTensor[name] = file;
                }
            }
        }
        catch
        {
            foreach (var file in files)
            {
                file.Dispose();
            }

            throw;
        }

        return new SafetensorsCheckpoint(files, byTensor);
    }
}
