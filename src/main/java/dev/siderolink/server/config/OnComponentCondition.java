package dev.siderolink.server.config;

import java.util.EnumSet;
import java.util.Set;
import org.springframework.boot.context.properties.bind.Bindable;
import org.springframework.boot.context.properties.bind.Binder;
import org.springframework.context.annotation.Condition;
import org.springframework.context.annotation.ConditionContext;
import org.springframework.core.type.AnnotatedTypeMetadata;

class OnComponentCondition implements Condition {

    static final Set<Component> DEFAULT = EnumSet.allOf(Component.class);

    @Override
    public boolean matches(ConditionContext context, AnnotatedTypeMetadata metadata) {
        Component wanted = (Component) metadata.getAnnotationAttributes(ConditionalOnComponent.class.getName()).get("value");
        return enabled(Binder.get(context.getEnvironment())).contains(wanted);
    }

    static Set<Component> enabled(Binder binder) {
        return binder.bind("siderolink.components", Bindable.listOf(Component.class))
                .map(list -> list.isEmpty() ? EnumSet.noneOf(Component.class) : EnumSet.copyOf(list))
                .orElse(EnumSet.copyOf(DEFAULT));
    }
}
