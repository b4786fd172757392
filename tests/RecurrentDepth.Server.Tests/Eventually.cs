namespace RecurrentDepth.Server.Tests;

/// <summary>
/// Waits for a condition on state another thread changes (the engine's load counters). It asserts the state, never
/// a duration: the bound only keeps a broken build from hanging the suite.
/// </summary>
internal static class Eventually
{
    public static async Task TrueAsync(Func<bool> condition, string what)
    {
        using var bound = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        while (!condition())
        {
            if (bound.IsCancellationRequested)
            {
                Assert.Fail($"Gave up waiting for: {what}.");
            }

            await Task.Delay(5);
        }
    }
}
