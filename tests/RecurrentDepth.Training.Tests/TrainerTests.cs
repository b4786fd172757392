using RecurrentDepth.Modeling;
using static TorchSharp.torch;

namespace RecurrentDepth.Training.Tests;

public sealed class TrainerTests : IDisposable
{
    private readonly string folder = Path.Combine(Path.GetTempPath(), "rd-train-" + Guid.NewGuid().ToString("N"));

    private static TrainerOptions Tiny(string folder) => new()
    {
        Out = folder, Steps = 40, Seed = 7, DModel = 32, Heads = 2, Layers = (1, 1, 1), MeanDepth = 3, BackpropDepth = 2,
        Lr = 3e-3, Batch = 16, MaxDifficulty = 2, CheckpointMinutes = 1e6,
    };

    [Fact]
    public void Loss_decreases_over_a_few_steps_from_scratch()
    {
        using var trainer = Trainer.Create(Tiny(folder));
        var losses = Enumerable.Range(0, 40).Select(_ => trainer.TrainStep().Loss).ToList();
        double first = losses.Take(5).Average(), last = losses.TakeLast(5).Average();
        Assert.True(last < 0.6 * first, $"loss went from {first:F3} (first 5 steps) to {last:F3} (last 5 steps)");
    }

    [Fact]
    public void Same_seed_gives_the_same_losses()
    {
        using var a = Trainer.Create(Tiny(folder));
        using var b = Trainer.Create(Tiny(folder));
        for (int i = 0; i < 3; i++)
        {
            Assert.Equal(a.TrainStep().Loss, b.TrainStep().Loss);
        }
    }

    [Fact]
    public void Checkpoint_round_trips_through_the_loader_bit_exactly()
    {
        using var trainer = Trainer.Create(Tiny(folder));
        trainer.TrainStep();
        trainer.TrainStep();
        trainer.SaveCheckpoint(folder);
        foreach (var file in new[] { "config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json", "chat_template.json" })
        {
            Assert.True(File.Exists(Path.Combine(folder, file)), $"{file} missing");
        }

        // A fresh run's checkpoint ships the committed models' tokenizer files, byte for byte.
        foreach (var file in new[] { "tokenizer.json", "tokenizer_config.json", "chat_template.json" })
        {
            Assert.Equal(File.ReadAllBytes(Path.Combine(CommittedModels.Latent, file)), File.ReadAllBytes(Path.Combine(folder, file)));
        }

        using var loaded = RavenModel.Load(folder, new ModelLoadOptions { Device = "cpu", DType = "float32" });
        Assert.Equal(trainer.Model.Config with { TorchDtype = "float32" }, loaded.Config);
        var expected = trainer.Model.ParametersByKey();
        var actual = loaded.ParametersByKey();
        Assert.Equal(expected.Keys.Order(), actual.Keys.Order());
        foreach (var (name, p) in expected)
        {
            Assert.True(p.detach().eq(actual[name]).all().item<bool>(), $"{name} differs after the round trip");
        }

        using var ids = tensor(new long[] { 256, 258, 117, 51, 43, 55, 61 }, [1, 7]);
        using var _ = no_grad();
        using var x = trainer.Model.Forward(ids, 3, initScale: 0);
        using var y = loaded.Forward(ids, 3, initScale: 0);
        Assert.True(x.Logits.eq(y.Logits).all().item<bool>());
    }

    [Fact]
    public void Resumed_run_continues_exactly_like_an_uninterrupted_one()
    {
        using var straight = Trainer.Create(Tiny(folder));
        for (int i = 0; i < 4; i++)
        {
            straight.TrainStep();
        }

        using (var first = Trainer.Create(Tiny(folder)))
        {
            first.TrainStep();
            first.TrainStep();
            first.SaveCheckpoint(folder);
        }

        using var resumed = Trainer.Resume(folder);
        Assert.Equal(2, resumed.Step);
        resumed.TrainStep();
        resumed.TrainStep();
        var expected = straight.Model.ParametersByKey();
        foreach (var (name, p) in resumed.Model.ParametersByKey())
        {
            double diff = (p.detach() - expected[name].detach()).abs().max().item<float>();
            Assert.True(diff == 0, $"{name} differs by {diff:G3} after resuming");
        }
    }

    [Fact]
    public void Schedule_warms_up_linearly_then_decays_to_zero()
    {
        using var trainer = Trainer.Create(Tiny(folder) with { Steps = 100, Lr = 1e-3, WarmupFraction = 0.1 });
        Assert.Equal(1e-4, trainer.LearningRateAt(0), 12);
        Assert.Equal(1e-3, trainer.LearningRateAt(9), 12);
        Assert.True(trainer.LearningRateAt(50) < 1e-3);
        Assert.Equal(0, trainer.LearningRateAt(100), 12);
    }

    [Fact]
    public void Initialisation_follows_the_reference_stds_and_makes_every_parameter_trainable()
    {
        using var trainer = Trainer.Create(Tiny(folder) with { DModel = 96, Heads = 4 });
        var config = trainer.Model.Config;
        var p = trainer.Model.ParametersByKey();
        Assert.All(p.Values, x => Assert.True(x.requires_grad));
        double std = Math.Sqrt(2.0 / (5 * 96)), outStd = std / Math.Sqrt(2.0 * config.EffectiveExpectedDepth);
        Assert.Equal(std, p["transformer.core_block.0.attn.Wqkv.weight"].std().item<float>(), 0.004);
        Assert.Equal(outStd, p["transformer.core_block.0.attn.proj.weight"].std().item<float>(), 0.002);
        Assert.True(p["transformer.core_block.0.attn.Wqkv.weight"].abs().max().item<float>() <= 3 * std + 1e-6);
        Assert.Equal(0, p["transformer.core_block.0.attn.qk_bias"].abs().sum().item<float>());
        Assert.Equal(96, p["transformer.ln_f.weight"].sum().item<float>());
    }

    public void Dispose()
    {
        if (Directory.Exists(folder))
        {
            Directory.Delete(folder, recursive: true);
        }
    }
}
