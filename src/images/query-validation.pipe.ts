import { BadRequestException, ValidationPipe } from '@nestjs/common';

/**
 * Validates and transforms query DTOs. Repeated parameters (`?version=a&version=b`) arrive as arrays and fail
 * the string checks, which is the answer they deserve. One message per parameter, "is required" first.
 */
export const queryValidationPipe = new ValidationPipe({
  transform: true,
  whitelist: true,
  forbidNonWhitelisted: false,
  validationError: { target: false, value: false },
  exceptionFactory: (errors) => {
    const messages = errors.map((error) => error.constraints?.isDefined ?? Object.values(error.constraints ?? {})[0] ?? `${error.property} is invalid`);
    return new BadRequestException(messages.join('; ') || 'invalid query');
  },
});
