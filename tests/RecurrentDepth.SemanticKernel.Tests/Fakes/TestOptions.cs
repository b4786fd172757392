namespace RecurrentDepth.SemanticKernel.Tests.Fakes;

internal static class TestOptions
{
    public static RecurrentDepthOptions Create(Action<RecurrentDepthOptions>? configure = null)
    {
        var options = new RecurrentDepthOptions { EffortFallbackDelay = TimeSpan.Zero };
        configure?.Invoke(options);
        return options;
    }
}
